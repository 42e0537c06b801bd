// The statuses of check commands (drill, measure, verify): PASS, WARN, FAIL, and how they combine
// and map to the monitoring-plugin exit codes of the command-line contract.
#pragma once

#include <string>

namespace pgdr {

// The worse of two statuses: FAIL over WARN over anything else.
inline std::string worse_status(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& s) { return s == "FAIL" ? 2 : s == "WARN" ? 1 : 0; };
  return rank(a) >= rank(b) ? a : b;
}

// 0 PASS, 1 WARN, 2 FAIL (3, "could not run", is the caller's).
inline int check_exit_code(const std::string& result) {
  if (result == "PASS") return 0;
  if (result == "WARN") return 1;
  return 2;
}

}  // namespace pgdr
