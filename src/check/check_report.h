// The result of `pgdr check`: one CheckResult per check of the setup (a setting, a repository, the
// server programs, archiving end to end), each with a status, its time, a one-line message and,
// when it did not pass, a hint saying how to fix it. The exit code follows the monitoring-plugin
// convention (0 PASS, 1 WARN, 2 FAIL; 3, could not run, is the command's). Plain values: no
// threads, no resources.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/check_status.h"

namespace pgdr::check {

struct CheckResult {
  std::string name{};  // "wal_level", "repo 'local'", "archiving", ...
  CheckStatus status = CheckStatus::pass;
  double seconds = 0;
  std::string message{};  // one line: what was found
  std::string hint{};     // how to fix it; empty for a pass
};

struct Report {
  std::string cluster;  // [cluster] name, for the summary line
  double seconds = 0;
  std::vector<CheckResult> checks;

  CheckStatus result() const;
  int exit_code() const;  // 0 PASS, 1 WARN, 2 FAIL
  // {"result", "cluster", "seconds", "checks": [{"name", "status", "seconds", "message", "hint"}]}
  nlohmann::json to_json() const;
  // One line per check (a HINT line under each that did not pass), then the one-line summary.
  std::string text() const;
};

}  // namespace pgdr::check
