#include <cstdio>
#include <string>
#include <vector>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "pg/lsn.h"
#include "pg/version.h"
#include "repo/format.h"
#include "repo/retired_pack.h"
#include "repo/snapshot_info.h"
#include "repo/wal_archive.h"
#include "stream/wal_receiver.h"
#include "core/time_format.h"

namespace pgdr::cli {

namespace {

// A standby replays its primary's WAL under the primary's system identifier: that identifier names
// the primary the snapshot is of.
nlohmann::json taken_on_json(const repo::SnapshotInfo& s) {
  return {{"role", s.taken_on}, {"primary_system_identifier", s.system_identifier}, {"replay_lsn", s.replay_lsn}};
}

nlohmann::json snapshot_json(const repo::SnapshotInfo& s) {
  return {{"id", s.id},
          {"cluster", s.cluster_name},
          {"system_identifier", s.system_identifier},
          {"pg_version_num", s.pg_version_num},
          {"pg_major", pg::major_of(s.pg_version_num)},
          {"timeline", s.timeline},
          {"start_time", s.start_time},
          {"stop_time", s.stop_time},
          {"start_lsn", s.start_lsn},
          {"stop_lsn", s.stop_lsn},
          {"wal", {{"first_segment", s.first_wal_segment}, {"last_segment", s.last_wal_segment}}},
          {"size_bytes", s.logical_bytes},
          {"stored_bytes", s.stored_bytes},
          {"file_count", s.file_count},
          {"new_blocks", s.new_blocks},
          {"reused_blocks", s.reused_blocks},
          {"zero_blocks", s.zero_blocks},
          {"previous_snapshot", s.previous_snapshot},
          {"compression", s.compression},
          {"changes", {{"source", s.change_source}, {"reason", s.change_reason}, {"read_bytes", s.read_bytes},
                       {"unread_blocks", s.unread_blocks}}},
          {"checksum_failures", s.checksum_failures},
          {"duration_seconds", s.duration_seconds},
          {"taken_on", taken_on_json(s)}};
}

enum class Status { ok, warning, error };

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::warning: return "warning";
    case Status::error: return "error";
  }
  return "error";
}

struct InfoStatus {
  Status status = Status::ok;
  std::string reason;  // one line
};

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", '" : "'") + names[i] + "'";
  return out;
}

// An unreadable repository is an error: nothing of it can be restored or checked. A damaged
// snapshot is a warning: the repository's other snapshots still restore.
InfoStatus overall_status(const std::vector<std::string>& unavailable_repos, const std::vector<Error>& unavailable,
                          const std::vector<std::string>& damaged_repos, const std::vector<std::string>& damaged) {
  if (!unavailable.empty())
    return {Status::error, (unavailable_repos.size() == 1 ? "repository " : "repositories ") +
                               quoted_list(unavailable_repos) + " unavailable: " + unavailable.front().what()};
  if (!damaged.empty())
    return {Status::warning, std::to_string(damaged.size()) + " damaged object" + (damaged.size() == 1 ? "" : "s") +
                                 " in " + (damaged_repos.size() == 1 ? "repository " : "repositories ") +
                                 quoted_list(damaged_repos) + ": " + damaged.front()};
  return {Status::ok, "every repository is readable and no snapshot is damaged"};
}

}  // namespace

void add_info_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("info", "list snapshots (id, times, LSNs, size, stored size) per repository");
  static bool json = false;
  cmd->add_flag("--json", json, "print JSON for scripts");
  cmd->add_option("--repo", ctx.repo_name, "only this repository");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      const Config& cfg = ctx.config();
      cfg.repo(ctx.repo_name);  // none configured, or an unknown name: a configuration error
      nlohmann::json out = {{"repositories", nlohmann::json::array()}};
      std::vector<std::string> all_damaged;
      std::vector<std::string> damaged_repos;  // names, in file order
      std::vector<Error> unavailable;
      std::vector<std::string> unavailable_repos;
      for (const auto& rc : cfg.repos) {
        if (!ctx.repo_name.empty() && rc.name != ctx.repo_name) continue;
        // A repository that cannot be opened or listed is reported, and the others still listed.
        std::optional<repo::Repository> opened;
        std::vector<std::string> damaged;
        std::vector<repo::SnapshotInfo> snaps;
        try {
          opened.emplace(ctx.open_repo(rc));
          snaps = repo::list_snapshots(opened->store(), opened->key(), &damaged);
        } catch (const Error& e) {
          if (e.kind() == ErrorKind::interrupted || e.kind() == ErrorKind::config) throw;
          unavailable.push_back(e);
          unavailable_repos.push_back(rc.name);
          out["repositories"].push_back({{"name", rc.name}, {"error", e.what()}});
          if (!json) std::printf("repository '%s': unavailable (%s)\n", rc.name.c_str(), e.what());
          continue;
        }
        repo::Repository& repo = *opened;
        all_damaged.insert(all_damaged.end(), damaged.begin(), damaged.end());
        nlohmann::json r = {{"name", rc.name},
                            {"location", repo.store().describe()},
                            {"format_version", repo.settings().version},
                            {"created", repo.settings().created},
                            {"block_size", repo.settings().block_bytes},
                            {"snapshots", nlohmann::json::array()},
                            {"damaged_snapshots", damaged}};
        if (!damaged.empty()) damaged_repos.push_back(rc.name);
        for (const auto& s : snaps) r["snapshots"].push_back(snapshot_json(s));
        // The repository's size on disk: every object the storage lists (packs, manifests, the WAL
        // archive, key slots, leftovers of unfinished backups), not only what snapshots added.
        std::uint64_t stored = 0;
        for (const auto& o : repo.store().list("")) stored += o.size_bytes;
        r["stored_bytes"] = stored;
        std::uint64_t segment_bytes = (!snaps.empty() && snaps.back().wal_segment_bytes) ? snaps.back().wal_segment_bytes
                                                                                          : (16u << 20);
        auto wal = repo::list_wal(repo, segment_bytes);
        auto gaps = repo::find_gaps(wal, segment_bytes);
        nlohmann::json timelines = nlohmann::json::array();
        for (const auto& [tli, segs] : wal.segments) {
          nlohmann::json tl = {{"timeline", tli},
                               {"first_segment", pg::segment_file_name(tli, segs.front(), segment_bytes)},
                               {"last_segment", pg::segment_file_name(tli, segs.back(), segment_bytes)},
                               {"segments", segs.size()},
                               {"gaps", nlohmann::json::array()}};
          for (const auto& g : gaps)
            if (g.timeline == tli) tl["gaps"].push_back({{"first_missing", g.first_missing}, {"last_missing", g.last_missing}});
          timelines.push_back(tl);
        }
        r["wal_archive"] = {{"timelines", timelines}, {"history_files", wal.history_files},
                            {"partial_files", wal.partial_files}};
        std::optional<stream::StreamPosition> streamed;
        try {
          streamed = stream::last_received(repo, segment_bytes);
        } catch (const Error& e) {
          // Listed like a damaged snapshot: the rest is still shown, the command then fails.
          if (e.kind() != ErrorKind::corrupt) throw;
          all_damaged.push_back(e.what());
          if (damaged_repos.empty() || damaged_repos.back() != rc.name) damaged_repos.push_back(rc.name);
        }
        if (streamed) {
          r["wal_stream"] = {{"timeline", streamed->timeline},
                             {"flushed_lsn", pg::to_string(streamed->flushed)},
                             {"flushed_at", streamed->flushed_at ? iso8601_ms(*streamed->flushed_at) : ""},
                             {"server_wal_end", streamed->server_wal_end ? pg::to_string(*streamed->server_wal_end) : ""},
                             {"partial_segment", streamed->partial_segment},
                             {"partial_bytes", streamed->partial_bytes},
                             {"running", streamed->running},
                             {"synchronous", streamed->synchronous}};
        }
        // Packs repacked by expire and kept for readers until their grace period ends.
        repo::RetiredListing retired = repo::list_retired(repo.store(), repo.key());
        std::uint64_t retired_bytes = 0;
        std::optional<SystemTime> oldest_retired;
        for (const auto& m : retired.markers) {
          if (auto st = repo.store().stat(repo::pack_object(m.pack_id))) retired_bytes += st->size_bytes;
          if (!oldest_retired || m.retired_at < *oldest_retired) oldest_retired = m.retired_at;
        }
        r["retired_packs"] = {{"count", retired.markers.size() + retired.damaged.size()},
                              {"bytes", retired_bytes},
                              {"oldest_retired_at", oldest_retired ? iso8601_ms(*oldest_retired) : ""}};
        out["repositories"].push_back(r);
        if (!json) {
          std::printf("repository '%s': %s, format %d, %zu snapshot%s, %s stored\n", rc.name.c_str(),
                      repo.store().describe().c_str(), repo.settings().version, snaps.size(),
                      snaps.size() == 1 ? "" : "s", human_bytes(stored).c_str());
          if (!snaps.empty())
            std::printf("  %-26s %-4s %-24s %-24s %-13s %-13s %10s %10s\n", "snapshot", "pg", "start", "stop",
                        "start lsn", "stop lsn", "size", "stored");
          for (const auto& s : snaps) {
            std::printf("  %-26s %-4d %-24s %-24s %-13s %-13s %10s %10s\n", s.id.c_str(), pg::major_of(s.pg_version_num),
                        s.start_time.c_str(),
                        s.stop_time.c_str(), s.start_lsn.c_str(), s.stop_lsn.c_str(),
                        human_bytes(s.logical_bytes).c_str(), human_bytes(s.stored_bytes).c_str());
            if (s.taken_on == repo::kTakenOnStandby)
              std::printf("    taken on a standby of system %s, replayed up to %s\n", s.system_identifier.c_str(),
                          s.replay_lsn.c_str());
          }
          if (wal.segments.empty()) std::printf("  WAL archive: empty (each snapshot still holds its own WAL)\n");
          for (const auto& [tli, segs] : wal.segments) {
            std::printf("  WAL archive, timeline %u: %s .. %s (%zu segments)\n", tli,
                        pg::segment_file_name(tli, segs.front(), segment_bytes).c_str(),
                        pg::segment_file_name(tli, segs.back(), segment_bytes).c_str(), segs.size());
            for (const auto& g : gaps)
              if (g.timeline == tli)
                std::printf("    GAP: %s .. %s missing\n", g.first_missing.c_str(), g.last_missing.c_str());
          }
          if (!retired.markers.empty() || !retired.damaged.empty())
            std::printf("  retired packs: %zu (%s), repacked since %s, removed by an expire after [retention] "
                        "repack_grace\n",
                        retired.markers.size() + retired.damaged.size(), human_bytes(retired_bytes).c_str(),
                        oldest_retired ? iso8601_ms(*oldest_retired).c_str() : "an unknown time");
          if (streamed) {
            std::printf("  WAL stream: timeline %u, durable up to %s (at %s)%s%s\n", streamed->timeline,
                        pg::to_string(streamed->flushed).c_str(),
                        streamed->flushed_at ? iso8601_ms(*streamed->flushed_at).c_str() : "unknown time",
                        streamed->partial_segment.empty()
                            ? ""
                            : (", partial segment " + streamed->partial_segment + " (" +
                               human_bytes(streamed->partial_bytes) + ")").c_str(),
                        streamed->running ? "" : ", stopped");
          }
        }
      }
      if (json) {
        InfoStatus st = overall_status(unavailable_repos, unavailable, damaged_repos, all_damaged);
        out["status"] = status_name(st.status);
        out["status_reason"] = st.reason;
        std::printf("%s\n", out.dump(2).c_str());
      }
      // Everything readable is listed; an unavailable repository or a damaged snapshot still makes
      // the command fail.
      if (!unavailable.empty()) {
        std::fflush(stdout);
        const Error& first = unavailable.front();
        throw Error(first.kind(),
                    std::string(first.what()) + (unavailable.size() > 1 ? " (and " + std::to_string(unavailable.size() - 1) +
                                                                              " more unavailable repositories)"
                                                                        : ""),
                    first.hint());
      }
      if (!all_damaged.empty()) {
        std::fflush(stdout);
        throw Error(ErrorKind::corrupt, all_damaged.front() +
                                            (all_damaged.size() > 1 ? " (and " + std::to_string(all_damaged.size() - 1) +
                                                                          " more damaged snapshots)"
                                                                    : ""));
      }
      return 0;
    };
  });
}

}  // namespace pgdr::cli
