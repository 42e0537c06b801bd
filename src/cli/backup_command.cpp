#include <cstdio>

#include "backup/backup.h"
#include "cli/audit_record.h"
#include "cli/commands.h"
#include "cli/report_output.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "repo/placement.h"

namespace pgdr::cli {

namespace {

// One line on how the snapshot found what changed and what it read.
std::string describe_changes(const repo::SnapshotInfo& i) {
  std::string read = "read " + human_bytes(i.read_bytes) + " of " + human_bytes(i.logical_bytes) + " from the data directory and WAL";
  if (i.change_source == "full-read") return "full read (" + i.change_reason + "): " + read;
  return "changes from " + i.change_source + ": " + read + ", " + std::to_string(i.unread_blocks) +
         " unchanged blocks taken from snapshot " + i.previous_snapshot;
}

}  // namespace

void add_backup_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "backup", "take a snapshot of the running cluster (a primary or a streaming standby) and print its id");
  cmd->add_option("--repo", ctx.repo_name, "write to this repository only (default: every configured one)");
  static std::optional<int> process_max;
  cmd->add_option("--process-max", process_max, "parallel file readers (default: [backup] process_max)")
      ->check(CLI::Range(1, 64));
  static bool full_read = false;
  cmd->add_flag("--full-read", full_read,
                "read every byte of the data directory, even where a change map says what changed");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      const Config& cfg = ctx.config();
      backup::BackupOptions opt;
      opt.process_max = process_max.value_or(cfg.backup.process_max);
      opt.compress = cfg.backup.compress;
      opt.compress_level = cfg.backup.compress_level;
      opt.compress_harder_below = cfg.backup.compress_harder_below;
      opt.checksum_page_warn_max = cfg.backup.checksum_page_warn_max;
      opt.expire_wait = cfg.retention.lock_wait;
      opt.full_read = full_read;
      opt.full_read_every = cfg.backup.full_read_every;
      opt.summaries_wait = cfg.backup.summaries_wait;
      repo::refuse_repository_in_cluster(cfg.cluster, ctx.selected_repos());
      std::vector<repo::Repository> repos = ctx.open_repos();
      std::vector<repo::Repository*> targets;
      std::vector<const repo::Repository*> audit_to;
      for (auto& r : repos) {
        targets.push_back(&r);
        audit_to.push_back(&r);
      }
      backup::BackupResult r = audited(audit_to, "backup", "cluster " + cfg.cluster.name,
                                       [&] { return backup::run_backup(cfg.cluster, targets, opt); });
      for (const auto& w : r.warnings) log_warning(w);
      const auto& i = r.info;
      log_info("snapshot " + i.id + ": " + human_bytes(i.logical_bytes) + " in " + std::to_string(i.file_count) +
               " files, LSN " + i.start_lsn + " to " + i.stop_lsn);
      log_info("  " + describe_changes(i));
      for (std::size_t k = 0; k < r.per_repo.size(); ++k) {
        const auto& p = r.per_repo[k];
        log_info("  repository '" + repos[k].name() + "': " + human_bytes(p.stored_bytes) + " stored (" +
                 std::to_string(p.new_blocks) + " new blocks, " + std::to_string(p.reused_blocks) + " already stored)");
        record_audit(repos[k], "backup", "snapshot " + i.id, i.checksum_failures ? "WARN" : "OK",
                     std::to_string(i.logical_bytes) + " bytes in " + std::to_string(i.file_count) + " files, " +
                         std::to_string(p.stored_bytes) + " stored, LSN " + i.start_lsn + " to " + i.stop_lsn +
                         (i.checksum_failures ? ", " + std::to_string(i.checksum_failures) + " page checksum failures"
                                              : ""));
      }
      // The catalog keeps each snapshot's run, with how it found what changed and what it read.
      nlohmann::json report = {{"kind", "backup"},
                               {"started_at", i.start_time},
                               {"seconds", i.duration_seconds},
                               {"result", i.checksum_failures ? "WARN" : "PASS"},
                               {"snapshot", i.id},
                               {"size_bytes", i.logical_bytes},
                               {"changes", {{"source", i.change_source}, {"reason", i.change_reason},
                                            {"read_bytes", i.read_bytes}, {"unread_blocks", i.unread_blocks}}}};
      record_and_trend(cfg, "backup", report);
      std::printf("%s\n", i.id.c_str());
      if (i.checksum_failures > 0) {
        std::fprintf(stderr, "pgdr: snapshot %s was taken, but %llu pages failed checksum verification in %s\n",
                     i.id.c_str(), static_cast<unsigned long long>(i.checksum_failures), cfg.cluster.pgdata.c_str());
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace pgdr::cli
