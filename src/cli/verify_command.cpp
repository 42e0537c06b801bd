#include <cerrno>
#include <chrono>
#include <cstdio>

#include "alert/alert.h"
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/report_output.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "verify/verify.h"

namespace pgdr::cli {

namespace {

// Check commands answer 3 when they cannot run at all (monitoring-plugin UNKNOWN).
constexpr int kCouldNotRun = 3;

void print_error(const Error& e) {
  std::string line = "pgdr: " + std::string(e.what()) + "\n";
  if (!e.hint().empty()) line += "HINT: " + e.hint() + "\n";
  std::fputs(line.c_str(), stderr);
}

alert::Message alert_message(const verify::Report& report) {
  alert::Message m;
  m.subject = "pgdr verify " + to_string(report.result()) + ": cluster '" + report.cluster + "', repository '" +
              report.repository + "'";
  m.summary = report.text();
  for (const auto& f : report.findings())
    m.findings.push_back({alert::parse_severity(f.severity).value_or(alert::Severity::critical), f.message});
  m.payload = report.to_json();
  return m;
}

}  // namespace

void add_verify_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "verify", "check that the repository holds restorable backups: coverage, sizes, checksums, WAL, key");
  static bool restore_test = false;
  static std::string report_path;
  static bool full = false;
  static std::optional<double> sample;
  static bool no_alerts = false;
  cmd->add_option("--repo", ctx.repo_name, "repository to verify (default: the first configured)")->type_name("NAME");
  cmd->add_flag("--restore-test", restore_test,
                "also restore the newest snapshot into a throwaway cluster, start and check it");
  cmd->add_option("--report", report_path, "write the JSON report to FILE")->type_name("FILE");
  cmd->add_flag("--full", full, "read and decode every object, also those verified before (within [verify] reverify_after or not)");
  cmd->add_option("--sample", sample, "read only a random P percent of the objects due")->type_name("P")->check(CLI::Range(0.01, 100.0));
  cmd->add_flag("--no-alerts", no_alerts, "send no e-mail or webhook");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      try {
        const Config& cfg = ctx.config();
        const RepoConfig& rc = cfg.repo(ctx.repo_name);
        std::optional<catalog::Catalog> cat;
        try {
          cat.emplace(catalog::Catalog::open(catalog::catalog_path(cfg)));
        } catch (const Error& e) {
          log_warning(std::string("verifying without the catalog (every object is read): ") + e.what());
        }
        verify::VerifyOptions opt;
        opt.full = full;
        opt.sample_percent = sample;
        opt.restore_test = restore_test;
        verify::Report report = verify::run_verify(cfg, rc, opt, cat ? &*cat : nullptr);
        if (!no_alerts) {
          for (const auto& d : alert::send(cfg.alerts, alert_message(report))) {
            nlohmann::json a = {{"channel", d.channel}, {"sent", d.ok}, {"findings", d.findings}};
            if (!d.ok) {
              a["error"] = d.error;
              log_warning("alert by " + d.channel + " failed: " + d.error);
            }
            report.alerts.push_back(a);
          }
        }
        nlohmann::json j = report.to_json();
        record_and_trend(cfg, "verify", j);
        write_reports(j, report_path, "", nullptr);
        std::fputs(report.text().c_str(), stdout);
        std::fflush(stdout);
        return report.exit_code();
      } catch (const Error& e) {
        print_error(e);
        return kCouldNotRun;
      }
    };
  });
}

}  // namespace pgdr::cli
