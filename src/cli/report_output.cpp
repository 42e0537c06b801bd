#include "cli/report_output.h"

#include "alert/alert.h"
#include "catalog/catalog.h"
#include "core/check_status.h"
#include "core/duration.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "drill/drill_report.h"

namespace pgdr::cli {

void write_reports(const nlohmann::json& report, const std::string& json_path, const std::string& html_path,
                   const std::function<std::string(const nlohmann::json&)>& render) {
  if (!json_path.empty()) write_file_durably(json_path, as_bytes(report.dump(2) + "\n"), 0640);
  if (!html_path.empty() && render) write_file_durably(html_path, as_bytes(render(report)), 0640);
}

void record_and_trend(const Config& cfg, const std::string& kind, nlohmann::json& report) {
  try {
    catalog::Catalog cat = catalog::Catalog::open(catalog::catalog_path(cfg));
    if (kind == "drill") report["trend"] = drill::drill_trend(cat.runs("drill", cfg.cluster.name, 9), report);
    catalog::RunRecord run;
    run.kind = kind;
    run.cluster = cfg.cluster.name;
    run.repository = report.value("repository", std::string());
    run.started = parse_iso8601(report.value("started_at", std::string())).value_or(std::chrono::system_clock::now());
    run.seconds = report.value("seconds", 0.0);
    run.result = report.value("result", std::string("FAIL"));
    if (report.contains("rto_seconds") && report["rto_seconds"].is_number()) run.rto_seconds = report["rto_seconds"].get<double>();
    if (report.contains("rpo_seconds") && report["rpo_seconds"].is_number()) run.rpo_seconds = report["rpo_seconds"].get<double>();
    run.report_json = report.dump();
    cat.record_run(run);
  } catch (const Error& e) {
    log_warning(std::string("the run was not recorded in the catalog: ") + e.what());
  }
}

int report_exit_code(const nlohmann::json& report) {
  return check_exit_code(parse_check_status(report.value("result", std::string())).value_or(CheckStatus::fail));
}

void send_report_alerts(const Config& cfg, const std::string& kind, nlohmann::json& report) {
  alert::Message m;
  const std::string result = report.value("result", std::string("FAIL"));
  m.subject = "pgdr " + kind + " " + result + ": cluster '" + cfg.cluster.name + "'";
  m.summary = "pgdr " + kind + " of cluster '" + cfg.cluster.name + "' started " +
              report.value("started_at", std::string("?")) + ": " + result;
  auto add = [&](alert::Severity s, const std::string& text) { m.findings.push_back({s, text}); };
  for (const char* list : {"phases", "checks"}) {
    if (!report.contains(list)) continue;
    for (const auto& p : report[list]) {
      const auto status = parse_check_status(p.value("status", std::string()));
      const std::string what = kind + " " + p.value("name", std::string("?"));
      if (status == CheckStatus::fail)
        add(alert::Severity::critical, what + " failed" + (p.contains("error") ? ": " + p["error"].get<std::string>() : ""));
      else if (status == CheckStatus::warn)
        add(alert::Severity::warning, what + " warns");
    }
  }
  for (const char* which : {"rto", "rpo"}) {
    const std::string key = std::string(which) + "_seconds";
    if (report.contains(key) && report[key].is_number() && report["objectives"][key].is_number() &&
        report[key].get<double>() > report["objectives"][key].get<double>())
      add(alert::Severity::alert, std::string(which == std::string("rto") ? "RTO " : "RPO ") +
                                      format_seconds(report[key].get<double>()) + " breaches its objective of " +
                                      format_seconds(report["objectives"][key].get<double>()));
  }
  m.payload = report;
  report["alerts"] = nlohmann::json::array();
  for (const auto& d : alert::send(cfg.alerts, m)) {
    nlohmann::json a = {{"channel", d.channel}, {"sent", d.ok}, {"findings", d.findings}};
    if (!d.ok) {
      a["error"] = d.error;
      log_warning("alert by " + d.channel + " failed: " + d.error);
    }
    report["alerts"].push_back(a);
  }
}

}  // namespace pgdr::cli
