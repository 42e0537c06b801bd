// What the check commands (drill, measure, verify) share at the command line: writing their
// reports durably, and recording a run in the local catalog with the trend of earlier runs.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace pgdr::cli {

// Writes report (pretty JSON) to json_path and render(report) to html_path, each only when the
// path is not empty; durably (temporary file, fsync, rename), mode 0640.
void write_reports(const nlohmann::json& report, const std::string& json_path, const std::string& html_path,
                   const std::function<std::string(const nlohmann::json&)>& render);

// Records the run in the catalog (kind "backup", "drill", "measure", "verify") and, for drills, adds
// report["trend"] from the earlier ones. A catalog that cannot be written is a warning: the run's
// evidence is still in its report.
void record_and_trend(const Config& cfg, const std::string& kind, nlohmann::json& report);

// The exit code of a drill or measure report: its "result" by the monitoring-plugin convention
// (core/check_status.h); a report without a valid result counts as FAIL.
int report_exit_code(const nlohmann::json& report);

// Alerts for a drill or measure report ([alerts]): a failed phase or check is critical, a breached
// objective an alert, a WARN a warning; one message per run. The deliveries are added to
// report["alerts"]; a failing channel is a warning on stderr.
void send_report_alerts(const Config& cfg, const std::string& kind, nlohmann::json& report);

}  // namespace pgdr::cli
