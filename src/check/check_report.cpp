#include "check/check_report.h"

#include <cstdio>

namespace pgdr::check {

namespace {
int rank(Status s) {
  switch (s) {
    case Status::pass: return 0;
    case Status::warn: return 1;
    case Status::fail: return 2;
  }
  return 2;
}
}  // namespace

std::string to_string(Status s) {
  switch (s) {
    case Status::pass: return "PASS";
    case Status::warn: return "WARN";
    case Status::fail: return "FAIL";
  }
  return "FAIL";
}

Status Report::result() const {
  Status r = Status::pass;
  for (const auto& c : checks)
    if (rank(c.status) > rank(r)) r = c.status;
  return r;
}

int Report::exit_code() const { return rank(result()); }

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
  int counts[3] = {0, 0, 0};
  char buf[128];
  for (const auto& c : checks) {
    ++counts[rank(c.status)];
    std::snprintf(buf, sizeof buf, "%-4s %-22s %6.2fs  ", to_string(c.status).c_str(), c.name.c_str(), c.seconds);
    out += buf + c.message + "\n";
    if (c.status != Status::pass && !c.hint.empty()) out += "     HINT: " + c.hint + "\n";
  }
  std::snprintf(buf, sizeof buf, " (%d PASS, %d WARN, %d FAIL) in %.2fs\n", counts[0], counts[1], counts[2], seconds);
  out += "check of cluster '" + cluster + "': " + to_string(result()) + buf;
  return out;
}

}  // namespace pgdr::check
