#include "core/check_status.h"

namespace pgdr {

std::string to_string(CheckStatus s) {
  switch (s) {
    case CheckStatus::pass: return "PASS";
    case CheckStatus::warn: return "WARN";
    case CheckStatus::fail: return "FAIL";
  }
  return "FAIL";
}

std::string to_string(const std::optional<CheckStatus>& s) { return s ? to_string(*s) : "SKIP"; }

std::optional<CheckStatus> parse_check_status(std::string_view text) {
  for (CheckStatus s : {CheckStatus::pass, CheckStatus::warn, CheckStatus::fail})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

CheckStatus worse(CheckStatus a, CheckStatus b) { return check_exit_code(a) >= check_exit_code(b) ? a : b; }

int check_exit_code(CheckStatus s) {
  switch (s) {
    case CheckStatus::pass: return 0;
    case CheckStatus::warn: return 1;
    case CheckStatus::fail: return 2;
  }
  return 2;
}

}  // namespace pgdr
