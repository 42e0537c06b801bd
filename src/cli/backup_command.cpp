#include <cstdio>

#include "backup/backup.h"
#include "cli/audit_record.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "repo/placement.h"

namespace pgdr::cli {

void add_backup_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("backup", "take a snapshot of the running cluster and print its id");
  cmd->add_option("--repo", ctx.repo_name, "write to this repository only (default: every configured one)");
  static std::optional<int> process_max;
  cmd->add_option("--process-max", process_max, "parallel file readers (default: [backup] process_max)")
      ->check(CLI::Range(1, 64));
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      const Config& cfg = ctx.config();
      backup::BackupOptions opt;
      opt.process_max = process_max.value_or(cfg.backup.process_max);
      opt.compress = cfg.backup.compress;
      opt.compress_level = cfg.backup.compress_level;
      opt.checksum_page_warn_max = cfg.backup.checksum_page_warn_max;
      opt.expire_wait = cfg.retention.lock_wait;
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
