#include "failover/failover.h"

#include <chrono>
#include <thread>

#include "core/error.h"
#include "pg/connection.h"

namespace pgdr::failover {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

FailoverResult run_failover(const FailoverOptions& options) {
  FailoverResult r;
  pg::Connection conn(options.conninfo);
  if (conn.query("SELECT pg_is_in_recovery()").scalar() != "t")
    throw Error(ErrorKind::postgres, "the server at " + conn.describe() + " is not a standby (nothing to promote)",
                "point --conninfo at the standby");
  auto t0 = std::chrono::steady_clock::now();
  std::string promoted;
  try {
    promoted = conn.query("SELECT pg_promote(true, $1)", {std::to_string(options.timeout_seconds)}).scalar();
  } catch (const Error& e) {
    throw Error(e.kind(), "unable to promote the standby at " + conn.describe() + ": " + e.what(), e.hint());
  }
  r.promote_seconds = since(t0);
  if (promoted != "t")
    throw Error(ErrorKind::postgres, "the standby at " + conn.describe() + " did not finish promotion within " +
                                         std::to_string(options.timeout_seconds) + " s");
  // Writable means a transaction that needs an xid can commit.
  for (;;) {
    try {
      auto w = conn.query("SELECT txid_current()::text, pg_current_wal_lsn()::text");
      r.lsn = *w.rows.at(0).at(1);
      break;
    } catch (const Error& e) {
      if (since(t0) > options.timeout_seconds)
        throw Error(ErrorKind::postgres, "the promoted server at " + conn.describe() + " takes no writes after " +
                                             std::to_string(options.timeout_seconds) + " s: " + e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  r.writable_seconds = since(t0);
  auto health = conn.query(
      // The insert timeline: right after promotion the checkpoint that records it may not have run.
      "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int::text, "
      "pg_is_in_recovery()::text, "
      "(SELECT count(*) FROM pg_database WHERE datallowconn)::text");
  r.timeline = *health.rows.at(0).at(0);
  if (*health.rows.at(0).at(1) != "false")
    throw Error(ErrorKind::postgres, "the server at " + conn.describe() + " is still in recovery after promotion");
  r.health_seconds = since(t0);
  return r;
}

}  // namespace pgdr::failover
