#include "daemon/job_record.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "catalog/catalog.h"
#include "verify/report.h"

namespace pgdr::daemon {

namespace {

using nlohmann::json;

constexpr std::size_t kKeepOutputBytes = 4000;

std::string output_tail(const std::string& output) {
  return output.size() > kKeepOutputBytes ? output.substr(output.size() - kKeepOutputBytes) : output;
}

}  // namespace

void record_action_run(const Config& config, const std::string& job, const TaskRun& t) {
  catalog::RunRecord run;
  run.kind = job;
  run.cluster = config.cluster.name;
  run.started = t.started;
  run.seconds = t.outcome.seconds;
  run.result = t.outcome.exit_code == 0 ? "OK" : "ERROR";
  json report = {{"kind", job},
                 {"cluster", config.cluster.name},
                 {"started_at", iso8601_ms(t.started)},
                 {"seconds", t.outcome.seconds},
                 {"result", run.result},
                 {"exit_code", t.outcome.exit_code},
                 {"daemon_result", t.outcome.result},
                 {"output", output_tail(t.output)}};
  if (job == "backup" && t.outcome.exit_code == 0) {
    // backup prints its id alone on stdout; its stderr lines share the pipe, so find the id's shape.
    static const std::regex kId(R"((^|\n)(\d{8}T\d{6}\.\d{3}Z-[0-9a-f]+)\n)");
    std::smatch m;
    std::string id;
    if (std::regex_search(t.output, m, kId)) id = m[2].str();
    report["snapshot"] = id;
  }
  run.report_json = report.dump();
  catalog::Catalog::open(catalog::catalog_path(config)).record_run(run);
}

void record_unverified(const Config& config, const TaskRun& t) {
  std::string why = t.outcome.last_line;
  if (why.starts_with("pgdr: ")) why.erase(0, 6);
  if (why.empty()) why = "pgdr verify ended with exit code " + std::to_string(t.outcome.exit_code);
  verify::Report report = verify::could_not_run(config.cluster.name, t.repository, t.started, t.outcome.seconds, why);
  json j = report.to_json();
  j["checks"][0]["details"] = {{"exit_code", t.outcome.exit_code}, {"output", output_tail(t.output)}};
  catalog::RunRecord run;
  run.kind = "verify";
  run.cluster = config.cluster.name;
  run.repository = t.repository;
  run.started = t.started;
  run.seconds = t.outcome.seconds;
  run.result = j["result"].get<std::string>();
  run.report_json = j.dump();
  catalog::Catalog::open(catalog::catalog_path(config)).record_run(run);
}

}  // namespace pgdr::daemon
