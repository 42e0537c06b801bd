// pgdr failover: promotes a standby (one built by `pgdr restore --standby`, or any streaming
// standby), waits until it accepts writes, runs a health check, and reports how long the
// switchover took, measured from the promote request to the first committed write.
#pragma once

#include <string>

namespace pgdr::failover {

struct FailoverOptions {
  std::string conninfo;      // the standby to promote
  int timeout_seconds = 60;  // for promotion and the first write
};

struct FailoverResult {
  double promote_seconds = 0;     // pg_promote() returned
  double writable_seconds = 0;    // first write committed: the switchover time
  double health_seconds = 0;      // health check done
  std::string timeline;           // after promotion
  std::string lsn;                // at the first write
  bool was_standby = true;
};

// Throws Error(postgres) naming the step that failed (not a standby, promotion timed out, no
// write possible, health check failed).
FailoverResult run_failover(const FailoverOptions& options);

}  // namespace pgdr::failover
