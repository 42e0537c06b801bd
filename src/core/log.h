// Messages for the person at the terminal, on stderr: warnings and notes that do not stop the
// command. Errors that stop it go through the command edge instead (one line, exit code).
#pragma once

#include <string_view>

namespace pgdr {

void log_warning(std::string_view message);
void log_info(std::string_view message);
// Quiet mode drops info lines (warnings always show).
void set_log_quiet(bool quiet);
bool log_quiet();

}  // namespace pgdr
