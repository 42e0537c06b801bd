#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cli/audit_record.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "restore/restore.h"

namespace pgdr::cli {

namespace {

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// restore_command for the restored cluster: this binary and this configuration, by absolute path,
// since the server runs it from its data directory.
std::string restore_command_for(Context& ctx) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) throw Error(ErrorKind::internal, "unable to find the pgdr binary's path");
  exe[n] = '\0';
  char config[PATH_MAX];
  if (!realpath(ctx.config().source.c_str(), config)) throw_errno("unable to resolve", ctx.config().source, errno);
  std::string cmd = shell_quoted(exe) + " --config " + shell_quoted(config);
  return cmd + " archive-get %f %p";
}

}  // namespace

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
  static std::string time, lsn, xid, name;
  static bool immediate = false;
  auto* t = cmd->add_option("--time", time, "recover to this time, e.g. '2026-11-25 14:30:00+00' (UTC)");
  auto* l = cmd->add_option("--lsn", lsn, "recover to this WAL location, e.g. 0/5A000028");
  auto* x = cmd->add_option("--xid", xid, "recover to the commit of this transaction id");
  auto* n = cmd->add_option("--name", name, "recover to this restore point (pg_create_restore_point)");
  auto* i = cmd->add_flag("--immediate", immediate, "recover only to the end of the snapshot (consistency)");
  for (auto* a : {t, l, x, n, i})
    for (auto* b : {t, l, x, n, i})
      if (a != b) a->excludes(b);
  auto* action = cmd->add_option("--target-action", opt.target.action, "at the target: promote, pause or shutdown")
      ->default_val("pause")
      ->check(CLI::IsMember({"promote", "pause", "shutdown"}));
  cmd->add_flag("--standby", opt.target.standby, "write a standby (standby.signal) that follows the archive");
  cmd->add_option("--primary-conninfo", opt.target.primary_conninfo, "with --standby: also stream from this primary");
  static bool no_recovery_settings = false;
  cmd->add_flag("--no-recovery-settings", no_recovery_settings,
                "write no restore_command, target or signal file (the copy then starts by crash recovery from "
                "the snapshot's own WAL)");
  cmd->callback([&ctx, &body, t, l, x, n, action] {
    body = [&ctx, t, l, x, n, action] {
      const Config& cfg = ctx.config();
      for (const auto& m : mappings) {
        auto eq = m.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
          throw Error(ErrorKind::usage, "invalid --tablespace-map '" + m + "' (expected OID=DIR or OLD_DIR=NEW_DIR)");
        opt.tablespace_map[m.substr(0, eq)] = m.substr(eq + 1);
      }
      opt.process_max = process_max.value_or(cfg.backup.process_max);
      opt.recovery_settings = !no_recovery_settings;
      using restore::TargetKind;
      if (t->count() + l->count() + x->count() + n->count() == 0 && !immediate && action->count() > 0)
        throw Error(ErrorKind::usage, "--target-action needs a recovery target (--time, --lsn, --xid, --name or --immediate)");
      if (!opt.target.standby && !opt.target.primary_conninfo.empty())
        throw Error(ErrorKind::usage, "--primary-conninfo needs --standby");
      if (t->count()) opt.target = {TargetKind::time, time, opt.target.action, opt.target.standby, opt.target.primary_conninfo, {}};
      else if (l->count()) opt.target = {TargetKind::lsn, lsn, opt.target.action, opt.target.standby, opt.target.primary_conninfo, {}};
      else if (x->count()) opt.target = {TargetKind::xid, xid, opt.target.action, opt.target.standby, opt.target.primary_conninfo, {}};
      else if (n->count()) opt.target = {TargetKind::name, name, opt.target.action, opt.target.standby, opt.target.primary_conninfo, {}};
      else if (immediate) opt.target.kind = TargetKind::immediate;
      if (opt.target.standby && opt.target.kind != TargetKind::latest)
        throw Error(ErrorKind::usage, "--standby follows the archive to its end: it takes no recovery target");
      opt.target.restore_command = restore_command_for(ctx);
      repo::Repository repo = ctx.open_repo();
      restore::RestoreResult r = audited(repo, "restore", "snapshot " + opt.snapshot + " to " + opt.target_dir,
                                         [&] { return restore::run_restore(repo, opt); });
      std::string what = "restored snapshot " + r.info.id + " to " + opt.target_dir + ": " +
                         std::to_string(r.files_written) + " files written (" + human_bytes(r.bytes_written) + ")";
      if (opt.delta)
        what += ", " + std::to_string(r.files_unchanged) + " unchanged, " + std::to_string(r.files_removed) + " removed";
      char secs[32];
      std::snprintf(secs, sizeof secs, " in %.1f s", r.seconds);
      log_info(what + secs);
      record_audit(repo, "restore", "snapshot " + r.info.id + " to " + opt.target_dir, "OK", what + secs);
      return 0;
    };
  });
}

}  // namespace pgdr::cli
