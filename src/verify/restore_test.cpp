#include "verify/restore_test.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/interrupt.h"
#include "pg/amcheck.h"
#include "pg/binaries.h"
#include "pg/connection.h"
#include "pg/scratch_server.h"
#include "pg/server_user.h"
#include "restore/restore.h"

namespace pgdr::verify {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Reads every row of every user table of every database (count and a hash over each row's text,
// which detoasts every value): a page or tuple the server cannot read fails here.
nlohmann::json read_everything(const pg::ScratchServer& server, std::uint64_t& rows_total, std::size_t& tables_total) {
  constexpr std::size_t kTablesListed = 50;
  nlohmann::json tables = nlohmann::json::array();
  pg::Connection admin(server.conninfo("postgres"));
  auto dbs = admin.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1");
  for (const auto& row : dbs.rows) {
    const std::string db = row[0].value_or("");
    pg::Connection c(server.conninfo(db));
    auto rels = c.query(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', "
        "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1");
    for (const auto& r : rels.rows) {
      const std::string rel = r[0].value_or("");
      std::string sql = "SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0) FROM " + rel + " t";
      auto res = c.query(sql);
      std::uint64_t n = std::stoull(res.rows.at(0).at(0).value_or("0"));
      rows_total += n;
      ++tables_total;
      if (tables.size() < kTablesListed) tables.push_back({{"table", db + "." + rel}, {"rows", n}});
    }
  }
  return tables;
}

}  // namespace

CheckResult run_restore_test(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                             const RestoreTestOptions& options) {
  CheckResult r;
  r.name = "restore_test";
  if (snaps.empty()) {
    r.status = CheckStatus::fail;
    r.summary = "no snapshot to restore";
    r.findings.push_back({"critical", "restore test failed: the repository holds no snapshot"});
    return r;
  }
  const repo::SnapshotInfo& snap =
      *std::max_element(snaps.begin(), snaps.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  r.details = {{"snapshot", snap.id}};
  std::string step = "prepare";
  try {
    pg::ScratchServerOptions so;
    so.parent_dir = options.parent_dir;
    so.name_prefix = "pgdr-restore-test";
    so.server_env = options.server_env;
    so.server_user = options.server_user;
    so.pg_bindir = options.pg_bindir;
    // Owns the directory and the server: both go when this scope ends, whatever happens.
    pg::ScratchServer server(so);
    r.details["port"] = server.port();

    step = "restore";
    auto t = Clock::now();
    restore::RestoreOptions ro;
    ro.target_dir = server.data_dir();
    ro.snapshot = snap.id;
    ro.process_max = options.process_max;
    ro.recovery_settings = options.archive_get.has_value();
    ro.target.archive_get = options.archive_get;
    restore::RestoreResult rr = restore::run_restore(repo, ro);
    r.details["restore_seconds"] = since(t);
    r.details["bytes_restored"] = rr.bytes_written;

    throw_if_interrupted();  // Ctrl-C between steps: the server's destructor stops and removes it
    step = "start";
    t = Clock::now();
    server.start(options.timeout);
    r.details["start_seconds"] = since(t);
    throw_if_interrupted();
    step = "recovery";
    t = Clock::now();
    server.wait_promoted(options.timeout);
    r.details["recovery_seconds"] = since(t);

    throw_if_interrupted();
    step = "amcheck";
    t = Clock::now();
    pg::AmcheckOptions ao;
    ao.program = pg::find_client_program("pg_amcheck", server.programs());
    ao.libpq_env = server.libpq_env();
    pg::AmcheckResult am = pg::run_amcheck(ao);
    r.details["amcheck_seconds"] = since(t);
    std::vector<std::string> lines(am.lines.begin(), am.lines.begin() + std::min<std::size_t>(am.lines.size(), 20));
    r.details["amcheck"] = {{"ok", am.ok},
                            {"exit_code", am.exit_code},
                            {"relations", std::vector<std::string>(am.relations.begin(), am.relations.end())},
                            {"lines", lines}};

    throw_if_interrupted();
    step = "read";
    t = Clock::now();
    std::uint64_t rows = 0;
    std::size_t tables = 0;
    r.details["tables_read"] = read_everything(server, rows, tables);
    r.details["read_seconds"] = since(t);
    r.details["tables"] = tables;
    r.details["rows"] = rows;

    throw_if_interrupted();
    step = "stop";
    t = Clock::now();
    server.stop();
    r.details["stop_seconds"] = since(t);

    if (!am.ok) {
      r.status = CheckStatus::fail;
      std::string what = am.relations.empty() ? (am.lines.empty() ? "exit code " + std::to_string(am.exit_code) : am.lines.front())
                                              : *am.relations.begin();
      r.summary = "snapshot " + snap.id + " restored and started, but pg_amcheck found damage (" + what + ")";
      r.findings.push_back({"critical", "restore test failed: pg_amcheck on the restored snapshot " + snap.id + ": " + what});
    } else {
      r.summary = "snapshot " + snap.id + " restored, started and read: pg_amcheck clean, " + std::to_string(tables) +
                  " tables, " + std::to_string(rows) + " rows";
    }
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    r.status = CheckStatus::fail;
    r.details["failed_step"] = step;
    r.details["error"] = e.what();
    r.summary = "snapshot " + snap.id + " failed at " + step + ": " + e.what();
    r.findings.push_back({"critical", "restore test failed at " + step + " of snapshot " + snap.id + ": " + e.what()});
  }
  return r;
}

}  // namespace pgdr::verify
