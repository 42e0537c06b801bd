// What `pgdr daemon` serves and `pgdr report` writes, gathered in one pass: the snapshots of every
// repository, the repository sizes, the newest verify of each repository and the recent runs from
// the local catalog; and the three views
// of it: the Prometheus metrics, the health verdict and (dashboard.h) the HTML page.
// A Status is a plain value; gathering reads the repositories and the catalog and may run on any
// thread, one gathering per Repository at a time (the daemon serialises them).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "config/config.h"
#include "core/time_format.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"

namespace pgdr::daemon {

struct RepoStatus {
  std::string name;
  std::vector<repo::SnapshotInfo> snapshots;  // oldest first
  std::optional<std::uint64_t> size_bytes;    // bytes under the repository directory
  std::string error;                          // why it could not be listed, "" when it was
  // When the repository was created (else its oldest snapshot started): coverage is counted from
  // here, and the heat map starts here. nullopt: unknown, everything counts.
  std::optional<SystemTime> created;
  // The newest verify of this repository in the catalog (a restore test included; one that could
  // not run, as pgdr daemon records it, too); nullopt when it was never verified.
  std::optional<catalog::RunRecord> last_verify;
};

// What the daemon knows of its own jobs (empty for `pgdr report`).
struct JobOutcome {
  std::string result;  // "ok", "pass", "warn", "fail", "error", "interrupted"
  int exit_code = 0;
  SystemTime ended{};
  double seconds = 0;
  std::string last_line;  // the job's last line of output, for a failure
};
struct JobStats {
  std::map<std::pair<std::string, std::string>, std::uint64_t> runs;  // (job, result) -> count
  std::map<std::string, std::uint64_t> skipped;                       // job -> slots skipped (still running)
  std::map<std::string, JobOutcome> last;                             // job -> its last outcome
  std::map<std::string, std::int64_t> backup_period_seconds;          // "backup" -> its schedule's period
};

// What the daemon's HTTP server counted since it started (http_server.h).
struct HttpStats {
  std::uint64_t connections_open = 0;
  std::uint64_t connections_refused = 0;  // answered 503: max_connections were open
  std::uint64_t requests_timed_out = 0;   // not received whole within request_timeout (408, or TLS handshake)
  std::uint64_t requests_too_large = 0;   // answered 413: over the size a request may have
};

struct Status {
  SystemTime now{};
  std::vector<RepoStatus> repos;
  std::vector<catalog::RunRecord> runs;  // this cluster's recent runs, newest first
  std::string catalog_error;             // why the catalog could not be read, "" when it was
  JobStats jobs;
  std::optional<HttpStats> http;  // the daemon's; absent for `pgdr report`

  // The newest run of a kind, if any.
  const catalog::RunRecord* last_run(const std::string& kind) const;
};

// repos: the opened repositories in configuration order; one that failed to open is given by name
// with its error in open_errors.
Status gather_status(const Config& config, const std::vector<const repo::Repository*>& repos,
                     const std::vector<std::pair<std::string, std::string>>& open_errors = {});

// Hourly coverage of the last 24 h as `pgdr measure` counts it (repo/snapshot_coverage.h): the
// one-hour slots back from now since the repository was created, the share holding the stop time of
// at least one snapshot.
double coverage_ratio(const RepoStatus& repo, SystemTime now);

// The Prometheus text exposition format 0.0.4.
std::string metrics_text(const Config& config, const Status& status);

// Empty when healthy; otherwise one reason per line.
std::vector<std::string> health_problems(const Config& config, const Status& status);
// What is not unhealthy but deserves a look: the newest verify of a repository, the newest drill or
// measure that warned, with the checks that did. /health lists them after its verdict.
std::vector<std::string> health_warnings(const Status& status);

// 0 PASS, 1 WARN, 2 FAIL, -1 other.
int result_code(const std::string& result);

}  // namespace pgdr::daemon
