// The status of a check, as the check commands (check, drill, measure, verify) judge it: PASS, WARN
// or FAIL; how two combine, and the monitoring-plugin exit code the command-line contract gives each
// (3, "could not run", is the command's own). Code passes CheckStatus around; the words are written
// only where a report or a terminal line is made. A check that did not run has no status: its
// holder is an empty std::optional<CheckStatus>, written "SKIP".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgdr {

enum class CheckStatus { pass, warn, fail };

// "PASS", "WARN", "FAIL".
std::string to_string(CheckStatus s);
// As to_string, and "SKIP" for a check that did not run.
std::string to_string(const std::optional<CheckStatus>& s);
// The status to_string writes as text; nullopt for any other text (SKIP included).
std::optional<CheckStatus> parse_check_status(std::string_view text);

// The worse of two statuses: FAIL over WARN over PASS.
CheckStatus worse(CheckStatus a, CheckStatus b);

// 0 PASS, 1 WARN, 2 FAIL.
int check_exit_code(CheckStatus s);

}  // namespace pgdr
