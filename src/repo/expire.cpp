#include "repo/expire.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/interrupt.h"
#include "pg/lsn.h"
#include "repo/format.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/wal_archive.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kManifestSuffix = ".manifest";
constexpr std::string_view kInfoSuffix = ".info";

std::string last_segment(const std::string& path) { return path.substr(path.rfind('/') + 1); }

Error cannot_expire(const Repository& repo, const Error& e) {
  return Error(e.kind(), "unable to expire repository '" + repo.name() + "': " + e.what(),
               "nothing was removed; a snapshot that cannot be read may need any pack: repair or remove it first");
}

// The WAL kept snapshots need: from the segment where the oldest of them starts, on every
// timeline. Returns that segment number, or a note why WAL is left alone.
std::optional<std::uint64_t> first_needed_segment(const std::vector<SnapshotDecision>& decisions, std::string& note,
                                                  std::string& segment_name, std::uint64_t& segment_bytes) {
  if (decisions.empty()) {
    note = "no snapshot: archived WAL left alone";
    return std::nullopt;
  }
  std::set<std::string> systems;
  std::set<std::uint64_t> sizes;
  for (const auto& d : decisions) {
    systems.insert(d.info.system_identifier);
    sizes.insert(d.info.wal_segment_bytes);
  }
  // The WAL archive is not divided by cluster: with two clusters' snapshots, segment numbers of one
  // say nothing about the other's.
  if (systems.size() > 1 || sizes.size() > 1) {
    note = "snapshots of several clusters: archived WAL left alone";
    return std::nullopt;
  }
  segment_bytes = *sizes.begin();
  std::optional<std::uint64_t> first;
  for (const auto& d : decisions) {
    if (!d.keep) continue;
    auto seg = pg::parse_segment_file_name(d.info.first_wal_segment, segment_bytes);
    if (!seg) {
      note = "snapshot " + d.info.id + " names no readable first WAL segment: archived WAL left alone";
      return std::nullopt;
    }
    if (!first || seg->segno < *first) {
      first = seg->segno;
      segment_name = d.info.first_wal_segment;
    }
  }
  return first;
}

}  // namespace

ExpireResult run_expire(const Repository& repo, const ExpireOptions& options) {
  storage::Storage& store = repo.store();
  // Under the lock no backup is writing: every pack and manifest without an info object is a
  // leftover of one that died, not one that is about to be completed.
  RepoLock lock = RepoLock::acquire(store, repo.name(), "expire", {options.lock_wait, {}});
  ExpireResult result;
  result.dry_run = options.dry_run;

  std::vector<SnapshotInfo> infos;
  try {
    infos = list_snapshots(store, repo.key());
  } catch (const Error& e) {
    throw cannot_expire(repo, e);
  }
  std::vector<RetentionInput> inputs;
  for (const auto& s : infos) {
    auto t = parse_iso8601(s.start_time);
    if (!t)
      throw Error(ErrorKind::corrupt, "unable to expire repository '" + repo.name() + "': snapshot " + s.id +
                                          " has an unreadable start time '" + s.start_time + "'");
    inputs.push_back({s.id, s.system_identifier, *t});
  }
  auto verdicts = apply_retention(inputs, options.policy, options.now);
  std::set<std::string> info_ids;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    info_ids.insert(infos[i].id);
    result.snapshots.push_back({infos[i], verdicts[i].keep, verdicts[i].reasons});
  }

  // Every pack a kept snapshot's manifest declares is live.
  std::set<std::string> live_packs;
  for (const auto& d : result.snapshots) {
    if (!d.keep) continue;
    throw_if_interrupted();
    try {
      ManifestIndex m(store, d.info.id, repo.key());
      for (std::uint32_t p = 0; p < m.pack_count(); ++p) live_packs.insert(m.pack_id(p));
    } catch (const Error& e) {
      throw cannot_expire(repo, e);
    }
    live_packs.insert(d.info.packs.begin(), d.info.packs.end());
  }

  auto sized = [&](const std::string& name) {
    auto st = store.stat(name);
    return RemovedObject{name, st ? st->size_bytes : 0};
  };
  // Infos first (the snapshots disappear), then their manifests.
  for (const auto& d : result.snapshots)
    if (!d.keep) result.snapshot_objects.push_back(sized(snapshot_info_object(d.info.id)));
  for (const auto& d : result.snapshots)
    if (!d.keep) result.snapshot_objects.push_back(sized(snapshot_manifest_object(d.info.id)));
  // Manifests of backups that died, or of snapshots an interrupted expire had begun to remove.
  std::vector<storage::ObjectInfo> snapshot_listing = store.list(kSnapshotsDir);
  std::sort(snapshot_listing.begin(), snapshot_listing.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  for (const auto& obj : snapshot_listing) {
    std::string name = last_segment(obj.path);
    if (!name.ends_with(kManifestSuffix)) continue;
    std::string id = name.substr(0, name.size() - kManifestSuffix.size());
    if (info_ids.count(id)) continue;
    result.snapshot_objects.push_back({obj.path, obj.size_bytes});
  }
  std::vector<storage::ObjectInfo> pack_listing = store.list(kPacksDir);
  std::sort(pack_listing.begin(), pack_listing.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  for (const auto& obj : pack_listing) {
    if (live_packs.count(last_segment(obj.path)))
      ++result.packs_kept;
    else
      result.packs.push_back({obj.path, obj.size_bytes});
  }

  std::uint64_t segment_bytes = 0;
  if (auto first = first_needed_segment(result.snapshots, result.wal_note, result.oldest_wal_needed, segment_bytes)) {
    std::vector<storage::ObjectInfo> wal_listing = store.list(kWalDir);
    std::sort(wal_listing.begin(), wal_listing.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    for (const auto& obj : wal_listing) {
      std::string name = last_segment(obj.path);
      auto kind = classify_wal_file(name);
      // History and backup history files are small and tell how timelines and backups relate: kept.
      if (!kind || (*kind != WalFileKind::segment && *kind != WalFileKind::partial)) continue;
      auto seg = pg::parse_segment_file_name(name.substr(0, 24), segment_bytes);
      if (seg && seg->segno < *first) result.wal.push_back({obj.path, obj.size_bytes});
    }
  }

  for (const auto* list : {&result.snapshot_objects, &result.packs, &result.wal})
    for (const auto& o : *list) result.bytes_freed += o.size_bytes;
  if (options.dry_run) return result;

  // Infos, then manifests, then packs, then WAL: a snapshot disappears before its manifest, and a
  // pack is removed only once no manifest that could name it remains visible, so at every step each
  // snapshot still listed has all it needs. remove_many() is neither atomic nor ordered within one
  // call, hence one call per step and never two steps in one call.
  std::vector<std::string> info_objects, manifest_objects, pack_objects, wal_objects;
  for (const auto& o : result.snapshot_objects)
    (o.name.ends_with(kInfoSuffix) ? info_objects : manifest_objects).push_back(o.name);
  for (const auto& o : result.packs) pack_objects.push_back(o.name);
  for (const auto& o : result.wal) wal_objects.push_back(o.name);
  for (const auto* step : {&info_objects, &manifest_objects, &pack_objects, &wal_objects}) {
    throw_if_interrupted();
    if (!step->empty()) store.remove_many(*step);
  }
  lock.release();
  return result;
}

}  // namespace pgdr::repo
