#include "verify/report.h"

#include <cstdio>

#include "core/duration.h"

namespace pgdr::verify {

CheckStatus Report::result() const {
  CheckStatus r = CheckStatus::pass;
  for (const auto& c : checks)
    if (c.status) r = worse(r, *c.status);
  return r;
}

int Report::exit_code() const { return check_exit_code(result()); }

std::vector<Finding> Report::findings() const {
  std::vector<Finding> out;
  for (const auto& c : checks) out.insert(out.end(), c.findings.begin(), c.findings.end());
  return out;
}

nlohmann::json Report::to_json() const {
  nlohmann::json checks_json = nlohmann::json::array();
  for (const auto& c : checks) {
    nlohmann::json f = nlohmann::json::array();
    for (const auto& x : c.findings) f.push_back({{"severity", x.severity}, {"message", x.message}});
    checks_json.push_back({{"name", c.name},
                           {"status", to_string(c.status)},
                           {"seconds", c.seconds},
                           {"summary", c.summary},
                           {"details", c.details},
                           {"findings", f}});
  }
  return {{"format", "pgdr-verify-report"},
          {"version", 1},
          {"result", to_string(result())},
          {"cluster", cluster},
          {"repository", repository},
          {"started_at", iso8601_ms(started)},
          {"seconds", seconds},
          {"checks", checks_json},
          {"alerts", alerts}};
}

Report could_not_run(const std::string& cluster, const std::string& repository, SystemTime started,
                     double seconds, const std::string& why) {
  Report r;
  r.cluster = cluster;
  r.repository = repository;
  r.started = started;
  r.seconds = seconds;
  CheckResult c;
  c.name = "repository";
  c.status = CheckStatus::fail;
  c.seconds = seconds;
  c.summary = "verify could not run: " + why;
  c.findings.push_back({"critical", "repository '" + repository + "' could not be verified: " + why});
  r.checks.push_back(std::move(c));
  return r;
}

std::string Report::text() const {
  std::string out = "verify of repository '" + repository + "' (cluster '" + cluster + "'): " + to_string(result()) + "\n";
  char buf[64];
  for (const auto& c : checks) {
    std::snprintf(buf, sizeof buf, "  %-4s %-15s %8s  ", to_string(c.status).c_str(), c.name.c_str(),
                  format_seconds(c.seconds).c_str());
    out += buf + c.summary + "\n";
  }
  auto f = findings();
  if (!f.empty()) {
    out += "findings:\n";
    for (const auto& x : f) out += "  [" + x.severity + "] " + x.message + "\n";
  }
  return out;
}

}  // namespace pgdr::verify
