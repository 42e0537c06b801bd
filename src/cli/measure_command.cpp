#include <cstdio>
#include <thread>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/report_output.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "drill/drill_report.h"
#include "measure/measure.h"

namespace pgdr::cli {

namespace {

std::string summary(const nlohmann::json& r) {
  auto fig = [](const nlohmann::json& v) { return v.is_number() ? format_seconds(v.get<double>()) : std::string("unknown"); };
  // Without a drill the RTO figures are not "unknown" twice over: the rto check's note says why once.
  const std::string rto = r["rto_seconds"].is_number()
                              ? "RTO last drill " + fig(r["rto_seconds"]) + ", forecast " + fig(r["rto_forecast_seconds"])
                              : std::string("RTO not measured yet");
  std::string out = "measure " + r.value("result", std::string("?")) + ": RPO now " + fig(r["rpo_seconds"]) +
                    " (objective " + fig(r["objectives"]["rpo_seconds"]) + "), " + rto + " (objective " +
                    fig(r["objectives"]["rto_seconds"]) + ")\n";
  for (const auto& c : r["checks"]) {
    out += "  " + c["name"].get<std::string>() + " " + c["status"].get<std::string>();
    for (const char* k : {"problem", "note", "idle", "forecast_method", "coverage_percent", "newest_archived_commit"})
      if (c["details"].contains(k)) out += "  " + std::string(k) + ": " + (c["details"][k].is_string() ? c["details"][k].get<std::string>() : c["details"][k].dump());
    out += "\n";
  }
  return out;
}

}  // namespace

void add_measure_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "measure", "measure RPO now, the RTO of the last drill and its forecast for today's size, coverage and growth");
  static std::string report_path, interval_text = "60s";
  static bool continuous = false;
  cmd->add_option("--report", report_path, "write the JSON report to FILE")->type_name("FILE");
  cmd->add_flag("--continuous", continuous, "measure again every interval and print one JSON line each time");
  cmd->add_option("--interval", interval_text, "time between measurements with --continuous (default 60s)")
      ->type_name("DURATION");
  cmd->add_option("--repo", ctx.repo_name, "repository to measure (default: the first configured)")->type_name("NAME");
  cmd->callback([&ctx, &body] {
    body = [&ctx]() -> int {
      try {
        const Config& cfg = ctx.config();
        const auto interval = parse_duration(interval_text);
        if (interval.count() <= 0) throw Error(ErrorKind::usage, "--interval must be positive");
        repo::Repository repo = ctx.open_repo();
        while (true) {
          std::vector<catalog::RunRecord> drills;
          try {
            drills = catalog::Catalog::open(catalog::catalog_path(cfg)).runs("drill", cfg.cluster.name, 20);
          } catch (const Error&) {
            // No catalog yet: no drill to read; the report says so.
          }
          nlohmann::json report = measure::run_measure(cfg, repo, drills);
          send_report_alerts(cfg, "measure", report);
          record_and_trend(cfg, "measure", report);
          write_reports(report, report_path, {}, {});
          if (!continuous) {
            std::fputs(summary(report).c_str(), stdout);
            return report_exit_code(report);
          }
          std::printf("%s\n", report.dump().c_str());
          std::fflush(stdout);
          for (auto waited = std::chrono::milliseconds(0); waited < interval; waited += std::chrono::milliseconds(100)) {
            if (interrupt_requested()) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }
      } catch (const Error& e) {
        std::fprintf(stderr, "pgdr: %s\n", e.what());
        if (!e.hint().empty()) std::fprintf(stderr, "HINT: %s\n", e.hint().c_str());
        return 3;
      }
    };
  });
}

}  // namespace pgdr::cli
