#include "verify/verify.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "core/error.h"
#include "core/log.h"
#include "repo/audit_log.h"
#include "repo/keys.h"
#include "repo/passphrase.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"
#include "storage/open_storage.h"
#include "verify/change_map_check.h"
#include "verify/checks.h"
#include "verify/restore_test.h"

namespace pgdr::verify {

namespace {

using Clock = std::chrono::steady_clock;

template <typename Fn>
CheckResult timed(Fn fn) {
  auto t0 = Clock::now();
  CheckResult r = fn();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

CheckResult skipped(const std::string& name, const std::string& why) {
  CheckResult r;
  r.name = name;
  r.status = std::nullopt;
  r.summary = "not run: " + why;
  return r;
}

}  // namespace

Report run_verify(const Config& config, const RepoConfig& rc, const VerifyOptions& options, catalog::Catalog* catalog) {
  Report report;
  report.cluster = config.cluster.name;
  report.repository = rc.name;
  report.started = std::chrono::system_clock::now();
  auto t0 = Clock::now();

  // Settings first: a missing repository or an unknown format means verify cannot run at all.
  auto store = storage::open_storage(rc);
  repo::RepoSettings settings = repo::Repository::read_settings(*store, rc.name);

  // 5. Key: does the configured source still unwrap the master key?
  std::optional<repo::Repository> repo;
  report.checks.push_back(timed([&] {
    CheckResult r;
    r.name = "key";
    std::string source = !config.key.passphrase_env.empty() ? "$" + config.key.passphrase_env
                         : !config.key.passphrase_command.empty() ? "passphrase_command"
                                                                  : "none";
    r.details = {{"source", source}};
    try {
      repo::Passphrase pass = repo::read_passphrase(config.key);
      repo.emplace(repo::Repository::open(std::move(store), rc.name, pass.view(), pass.source));
      r.details["key_slot"] = repo->key_slot();
      r.details["key_slots"] = repo::list_key_slots(repo->store()).size();
      r.summary = "the passphrase from " + pass.source + " unwraps the master key (key slot " + repo->key_slot() + ")";
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::crypto && e.kind() != ErrorKind::config && e.kind() != ErrorKind::not_found) throw;
      r.status = CheckStatus::fail;
      r.summary = "the passphrase from " + source + " does not unwrap the master key: " + e.what();
      r.findings.push_back({"critical", "key check failed for repository '" + rc.name + "': " + std::string(e.what())});
    }
    return r;
  }));
  if (!repo) {
    for (const char* n : {"coverage", "size_anomalies", "checksums", "wal_continuity", "audit", "change_maps"})
      report.checks.push_back(skipped(n, "the master key could not be unwrapped"));
    if (options.restore_test) report.checks.push_back(skipped("restore_test", "the master key could not be unwrapped"));
    report.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return report;
  }

  // The audit log before the listing: a backup that completes in between is then in the listing,
  // not only in the log (see repo/snapshot_ledger.h).
  const auto audit_t0 = Clock::now();
  repo::AuditLog audit = repo::read_audit(*repo);
  const double audit_read_seconds = std::chrono::duration<double>(Clock::now() - audit_t0).count();
  std::vector<std::string> damaged_infos;
  auto all = repo::list_snapshots(repo->store(), repo->key(), &damaged_infos);
  // Coverage and sizes are about this cluster; a shared repository holds others too.
  std::vector<repo::SnapshotInfo> mine;
  for (const auto& s : all)
    if (config.cluster.name.empty() || s.cluster_name == config.cluster.name) mine.push_back(s);
  auto now = std::chrono::system_clock::now();

  report.checks.push_back(timed([&] { return check_coverage(mine, config.verify, now, parse_iso8601(settings.created)); }));
  report.checks.push_back(timed([&] { return check_sizes(mine, config.verify, now); }));
  std::vector<std::string> damaged_wal;
  report.checks.push_back(timed([&] {
    ObjectCheckOptions o;
    o.full = options.full;
    o.sample_percent = options.sample_percent;
    o.reverify_after = config.verify.reverify_after;
    o.process_max = options.process_max > 0 ? options.process_max : config.verify.process_max;
    o.now = now;
    o.known = repo::known_cluster(*repo, config.cluster.name);
    o.replaced = repo::replaced_wal_objects(audit);
    return check_objects(*repo, all, damaged_infos, catalog, o, damaged_wal);
  }));
  report.checks.push_back(timed([&] { return check_wal(*repo, all, damaged_wal); }));
  report.checks.push_back(timed([&] { return check_audit(*repo, audit, all); }));
  report.checks.back().seconds += audit_read_seconds;
  report.checks.push_back(timed([&] { return check_change_maps(*repo, mine, all); }));
  if (options.restore_test) {
    report.checks.push_back(timed([&] {
      RestoreTestOptions o;
      o.parent_dir = options.restore_parent_dir;
      if (o.parent_dir.empty()) o.parent_dir = config.drill.dr_path;
      o.server_user = config.drill.server_user;
      o.pg_bindir = config.cluster.pg_bindir;
      o.process_max = config.backup.process_max;
      // The restored copy fetches archived WAL with this binary and this configuration.
      o.archive_get = restore::ArchiveGetCall::of_this_pgdr(config.source);
      if (!config.key.passphrase_env.empty())
        if (const char* v = std::getenv(config.key.passphrase_env.c_str()))
          o.server_env.push_back(config.key.passphrase_env + "=" + v);
      return run_restore_test(*repo, mine.empty() ? all : mine, o);
    }));
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  try {
    repo::AuditEntry e;
    e.command = "verify";
    e.what = "repository " + rc.name;
    e.result = to_string(report.result());
    for (const auto& c : report.checks)
      e.details += (e.details.empty() ? "" : ", ") + c.name + " " + to_string(c.status);
    repo::append_audit(*repo, e);
  } catch (const std::exception& ex) {
    log_warning(std::string("unable to record verify in the audit log: ") + ex.what());
  }
  return report;
}

}  // namespace pgdr::verify
