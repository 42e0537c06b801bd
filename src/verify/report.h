// The result of `pgdr verify`: one CheckResult per check, each with a status, its time, a one-line
// summary, machine-readable details and findings (what an alert reports). The JSON form is
// documented by docs/reports/verify.schema.json; the exit code follows the monitoring-plugin
// convention (0 PASS, 1 WARN, 2 FAIL; 3, could not run, is the command's).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/check_status.h"
#include "core/time_format.h"

namespace pgdr::verify {

// Something an alert should say. severity follows the alert rules: "investigate" (size anomaly),
// "warning" (coverage below threshold), "alert" (missing snapshot), "critical" (damage, gaps, key,
// failed restore test).
struct Finding {
  std::string severity;
  std::string message;
};

struct CheckResult {
  std::string name;  // "coverage", "size_anomalies", "checksums", "wal_continuity", "audit", "change_maps", "key",
                     // "restore_test"; "repository" in a report of a verify that could not run
  std::optional<CheckStatus> status = CheckStatus::pass;  // none: not run (SKIP), the summary says why
  double seconds = 0;
  std::string summary;  // one line for the terminal
  nlohmann::json details = nlohmann::json::object();
  std::vector<Finding> findings;
};

struct Report {
  std::string cluster;
  std::string repository;
  SystemTime started{};
  double seconds = 0;
  std::vector<CheckResult> checks;
  nlohmann::json alerts = nlohmann::json::array();  // one object per channel tried

  CheckStatus result() const;  // the worst status of the checks that ran
  int exit_code() const;  // 0 PASS, 1 WARN, 2 FAIL
  std::vector<Finding> findings() const;
  nlohmann::json to_json() const;
  // The readable summary: one line per check, then the findings.
  std::string text() const;
};

// The report of a verify of repository that could not run at all (the repository unreachable or
// unreadable, the command killed): one check, "repository", FAIL with why and a critical finding.
// `pgdr daemon` records it, so that a repository it cannot verify is a FAIL of its own rather than
// a missing result.
Report could_not_run(const std::string& cluster, const std::string& repository, SystemTime started,
                     double seconds, const std::string& why);

}  // namespace pgdr::verify
