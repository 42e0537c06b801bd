#include "restore/snapshot_choice.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "core/error.h"
#include "core/log.h"
#include "pg/lsn.h"
#include "repo/snapshot_ledger.h"
#include "repo/wal_archive.h"

namespace pgdr::restore {

namespace {

std::string repo_names(const std::vector<const repo::Repository*>& repos) {
  std::string out;
  for (const auto* r : repos) out += (out.empty() ? "'" : ", '") + r->name() + "'";
  return out;
}

}  // namespace

void check_archive_continuity(const std::vector<const repo::Repository*>& repos, const repo::SnapshotInfo& info,
                              const RestoreOptions& options) {
  if (!options.recovery_settings || options.target.kind == TargetKind::immediate) return;
  std::uint64_t segment_bytes = info.wal_segment_bytes ? info.wal_segment_bytes : (16u << 20);
  auto stop = pg::parse_segment_file_name(info.last_wal_segment, segment_bytes);
  if (!stop) return;
  std::set<std::uint64_t> segments;
  for (const auto* r : repos) {
    auto wal = repo::list_wal(*r, segment_bytes);
    auto it = wal.segments.find(stop->timeline);
    if (it != wal.segments.end()) segments.insert(it->second.begin(), it->second.end());
  }
  std::string where = repos.size() == 1 ? repos.front()->describe() : "every repository";
  std::uint64_t expect = stop->segno + 1;
  for (std::uint64_t seg : segments) {
    if (seg < expect) continue;
    if (seg > expect) {
      std::string missing = pg::segment_file_name(stop->timeline, expect, segment_bytes);
      std::string msg = "WAL segment " + missing + " is missing from the archive of " + where + " (gap up to " +
                        pg::segment_file_name(stop->timeline, seg - 1, segment_bytes) + "): recovery from snapshot " +
                        info.id + " would stop there";
      if (options.target.kind == TargetKind::latest)
        throw Error(ErrorKind::not_found, msg,
                    "restore to a target before the gap (--lsn, --time) or to the end of the snapshot (--immediate)");
      log_warning(msg);
      return;
    }
    expect = seg + 1;
  }
}

namespace {

// "latest" must not silently become an older snapshot because the newest was deleted behind
// pgdr's back: the audit log knows which snapshot the last backup wrote.
void warn_if_newest_vanished(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& listed) {
  std::set<std::string> present;
  for (const auto& s : listed) present.insert(s.id);
  std::optional<repo::RecordedSnapshot> gone;
  try {
    gone = repo::newest_recorded_if_missing(repo, present);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    log_warning("unable to compare the snapshots of " + repo.describe() + " with its audit log (" + e.what() + ")");
    return;
  }
  if (gone)
    log_warning("the newest snapshot the audit log of " + repo.describe() + " records, " + gone->id +
                " (backup recorded at " + gone->time + "), is missing and no expire removed it: \"latest\" is "
                "chosen among the snapshots still there; run 'pgdr verify'");
}

}  // namespace

ChosenSnapshot choose_snapshot(const std::vector<const repo::Repository*>& repos, const RestoreOptions& options) {
  repo::SnapshotInfo info;
  std::vector<const repo::Repository*> holders;
  const std::string where = repos.size() == 1 ? repos.front()->describe() : "any repository (" + repo_names(repos) + ")";
  if (options.snapshot == "latest" || options.snapshot.empty()) {
    // The newest snapshot that ends before the target, so that recovery can reach it, whichever
    // repository holds it.
    std::vector<std::vector<repo::SnapshotInfo>> lists;
    std::vector<repo::SnapshotInfo> all;
    for (const auto* r : repos) {
      std::vector<std::string> damaged;
      lists.push_back(repo::list_snapshots(r->store(), r->key(), &damaged));
      for (const auto& d : damaged) log_warning(d + " (left out when choosing the snapshot)");
      all.insert(all.end(), lists.back().begin(), lists.back().end());
      warn_if_newest_vanished(*r, lists.back());
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    const repo::SnapshotInfo* chosen = nullptr;
    for (const auto& s : all)
      if (snapshot_serves(s, options.target)) chosen = &s;
    if (!chosen) {
      if (all.empty()) throw Error(ErrorKind::not_found, "no snapshot in " + where, "take one with 'pgdr backup'");
      throw Error(ErrorKind::not_found, "no snapshot in " + where + " ends before the recovery target " +
                                            options.target.value,
                  "the oldest snapshot ends at " + all.front().stop_time + " (LSN " + all.front().stop_lsn + ")");
    }
    info = *chosen;
    for (std::size_t i = 0; i < repos.size(); ++i)
      for (const auto& s : lists[i])
        if (s.id == info.id) holders.push_back(repos[i]);
  } else {
    std::optional<Error> first_error;
    for (const auto* r : repos) {
      try {
        auto s = repo::find_snapshot(r->store(), r->key(), options.snapshot);
        if (holders.empty()) info = s;
        holders.push_back(r);
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::usage || e.kind() == ErrorKind::interrupted || repos.size() == 1) throw;
        if (e.kind() != ErrorKind::not_found) log_warning(std::string(e.what()) + " (looking in the next repository)");
        if (!first_error) first_error = e;
      }
    }
    if (holders.empty())
      throw Error(ErrorKind::not_found, "snapshot " + options.snapshot + " is in no repository (" + repo_names(repos) + ")",
                  "list them with 'pgdr info'");
    if (!snapshot_serves(info, options.target))
      throw Error(ErrorKind::usage, "snapshot " + info.id + " ends after the recovery target " + options.target.value +
                                        " (at " + info.stop_time + ", LSN " + info.stop_lsn + ")",
                  "choose an older snapshot, or leave --snapshot out to pick one");
  }
  log_debug("chose snapshot " + info.id + " (stopped " + info.stop_time + ", LSN " + info.stop_lsn + ", cluster '" +
            info.cluster_name + "') held by " + repo_names(holders));
  return {info, holders};
}

}  // namespace pgdr::restore
