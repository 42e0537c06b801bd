#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>

#include "cli/audit_record.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "restore/restore.h"

namespace pgdr::cli {

namespace {

// restore_command for the restored cluster: the server runs it from its data directory.
restore::ArchiveGetCall archive_get_for(Context& ctx) {
  auto call = restore::ArchiveGetCall::of_this_pgdr(ctx.config().source);
  // Restricted to one repository, recovery reads its WAL from that one only, too.
  call.repo = ctx.repo_name;
  return call;
}

// The repositories to read: --repo's alone, or every configured one that opens. In a disaster a
// whole repository may be gone (its disk, its site); the others are enough, so it is skipped with a
// warning rather than stopping the restore.
std::vector<repo::Repository> open_readable(Context& ctx) {
  if (!ctx.repo_name.empty()) return ctx.open_repos();
  std::vector<RepoConfig> selected = ctx.selected_repos();
  if (selected.size() == 1) return ctx.open_repos();
  std::vector<repo::Repository> out;
  std::optional<Error> first_error;
  for (const auto& rc : selected) {
    try {
      out.push_back(ctx.open_repo(rc));
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::config || e.kind() == ErrorKind::usage || e.kind() == ErrorKind::interrupted) throw;
      if (!first_error) first_error = e;
      log_warning(std::string(e.what()) + " (restoring from the other repositories)");
    }
  }
  if (out.empty()) throw *first_error;
  return out;
}

}  // namespace

void add_restore_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("restore", "write a data directory that PostgreSQL starts from");
  static restore::RestoreOptions opt;
  static std::vector<std::string> mappings;
  static std::optional<int> process_max;
  cmd->add_option("--target-dir", opt.target_dir,
                  "directory to restore into (created; must be empty unless --delta; never a running cluster's)")
      ->required();
  cmd->add_option("--snapshot", opt.snapshot, "snapshot id, or 'latest'")->default_val("latest");
  cmd->add_flag("--delta", opt.delta,
                "bring a data directory of the snapshot's cluster in line, rewriting only blocks that differ");
  cmd->add_option("--tablespace-map", mappings, "restore a tablespace elsewhere: OID=DIR or OLD_DIR=NEW_DIR (repeatable)");
  cmd->add_option("--process-max", process_max, "parallel file writers (default: [backup] process_max)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--repo", ctx.repo_name,
                  "read from this repository only (default: the first that holds the snapshot, falling back to the "
                  "others for damaged or missing objects)");
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
      opt.source_data_dir = cfg.cluster.pgdata;
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
      opt.target.archive_get = archive_get_for(ctx);
      std::vector<repo::Repository> repos = open_readable(ctx);
      std::vector<const repo::Repository*> sources;
      for (const auto& r : repos) sources.push_back(&r);
      restore::RestoreResult r = audited(sources, "restore", "snapshot " + opt.snapshot + " to " + opt.target_dir,
                                         [&] { return restore::run_restore(sources, opt); });
      std::string what = "restored snapshot " + r.info.id + " to " + opt.target_dir + ": " +
                         std::to_string(r.files_written) + " files written (" + human_bytes(r.bytes_written) + ")";
      if (opt.delta)
        what += ", " + std::to_string(r.files_unchanged) + " unchanged, " + std::to_string(r.files_removed) + " removed";
      char secs[32];
      std::snprintf(secs, sizeof secs, " in %.1f s", r.seconds);
      log_info(what + secs);
      record_audit(sources, "restore", "snapshot " + r.info.id + " to " + opt.target_dir, "OK", what + secs);
      return 0;
    };
  });
}

}  // namespace pgdr::cli
