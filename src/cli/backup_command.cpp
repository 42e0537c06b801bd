#include <cstdio>

#include "backup/backup.h"
#include "cli/audit_record.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"

namespace pgdr::cli {

void add_backup_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("backup", "take a snapshot of the running cluster and print its id");
  cmd->add_option("--repo", ctx.repo_name, "repository to write to (default: the first configured)");
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
      repo::Repository repo = ctx.open_repo();
      backup::BackupResult r =
          audited(repo, "backup", "cluster " + cfg.cluster.name, [&] { return backup::run_backup(cfg.cluster, repo, opt); });
      for (const auto& w : r.warnings) log_warning(w);
      const auto& i = r.info;
      log_info("snapshot " + i.id + ": " + human_bytes(i.logical_bytes) + " in " + std::to_string(i.file_count) +
               " files, " + human_bytes(i.stored_bytes) + " stored (" + std::to_string(i.new_blocks) + " new blocks, " +
               std::to_string(i.reused_blocks) + " already stored), LSN " + i.start_lsn + " to " + i.stop_lsn);
      record_audit(repo, "backup", "snapshot " + i.id, i.checksum_failures ? "WARN" : "OK",
                   std::to_string(i.logical_bytes) + " bytes in " + std::to_string(i.file_count) + " files, " +
                       std::to_string(i.stored_bytes) + " stored, LSN " + i.start_lsn + " to " + i.stop_lsn +
                       (i.checksum_failures ? ", " + std::to_string(i.checksum_failures) + " page checksum failures" : ""));
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
