#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "restore/restore.h"

namespace pgdr::cli {

void add_restore_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("restore", "write a data directory that PostgreSQL starts from");
  static restore::RestoreOptions opt;
  static std::vector<std::string> mappings;
  static std::optional<int> process_max;
  cmd->add_option("--target-dir", opt.target_dir, "directory to restore into (created; must be empty unless --delta)")
      ->required();
  cmd->add_option("--snapshot", opt.snapshot, "snapshot id, or 'latest'")->default_val("latest");
  cmd->add_flag("--delta", opt.delta, "bring an existing directory in line, rewriting only blocks that differ");
  cmd->add_option("--tablespace-map", mappings, "restore a tablespace elsewhere: OID=DIR or OLD_DIR=NEW_DIR (repeatable)");
  cmd->add_option("--process-max", process_max, "parallel file writers (default: [backup] process_max)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--repo", ctx.repo_name, "repository to read from (default: the first configured)");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      const Config& cfg = ctx.config();
      for (const auto& m : mappings) {
        auto eq = m.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
          throw Error(ErrorKind::usage, "invalid --tablespace-map '" + m + "' (expected OID=DIR or OLD_DIR=NEW_DIR)");
        opt.tablespace_map[m.substr(0, eq)] = m.substr(eq + 1);
      }
      opt.process_max = process_max.value_or(cfg.backup.process_max);
      repo::Repository repo = ctx.open_repo();
      restore::RestoreResult r = restore::run_restore(repo, opt);
      std::string what = "restored snapshot " + r.info.id + " to " + opt.target_dir + ": " +
                         std::to_string(r.files_written) + " files written (" + human_bytes(r.bytes_written) + ")";
      if (opt.delta)
        what += ", " + std::to_string(r.files_unchanged) + " unchanged, " + std::to_string(r.files_removed) + " removed";
      char secs[32];
      std::snprintf(secs, sizeof secs, " in %.1f s", r.seconds);
      log_info(what + secs);
      return 0;
    };
  });
}

}  // namespace pgdr::cli
