#include "check/check_report.h"

#include <cstdio>

namespace pgdr::check {

CheckStatus Report::result() const {
  CheckStatus r = CheckStatus::pass;
  for (const auto& c : checks) r = worse(r, c.status);
  return r;
}

int Report::exit_code() const { return check_exit_code(result()); }

nlohmann::json Report::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : checks)
    list.push_back({{"name", c.name},
                    {"status", to_string(c.status)},
                    {"seconds", c.seconds},
                    {"message", c.message},
                    {"hint", c.hint}});
  return {{"result", to_string(result())}, {"cluster", cluster}, {"seconds", seconds}, {"checks", list}};
}

std::string Report::text() const {
  std::string out;
  int counts[3] = {0, 0, 0};  // indexed by exit code: PASS, WARN, FAIL
  char buf[128];
  for (const auto& c : checks) {
    ++counts[check_exit_code(c.status)];
    std::snprintf(buf, sizeof buf, "%-4s %-22s %6.2fs  ", to_string(c.status).c_str(), c.name.c_str(), c.seconds);
    out += buf + c.message + "\n";
    if (c.status != CheckStatus::pass && !c.hint.empty()) out += "     HINT: " + c.hint + "\n";
  }
  std::snprintf(buf, sizeof buf, " (%d PASS, %d WARN, %d FAIL) in %.2fs\n", counts[0], counts[1], counts[2], seconds);
  out += "check of cluster '" + cluster + "': " + to_string(result()) + buf;
  return out;
}

}  // namespace pgdr::check
