#include <cstdio>

#include "catalog/catalog.h"
#include "cli/audit_record.h"
#include "cli/commands.h"
#include "core/duration.h"
#include "cli/report_output.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "drill/drill.h"
#include "drill/drill_report.h"

namespace pgdr::cli {

namespace {

restore::RecoveryTarget parse_drill_target(const std::string& text) {
  restore::RecoveryTarget t;
  if (text.empty() || text == "latest") {
    t.kind = restore::TargetKind::latest;
  } else if (text == "immediate" || text == "snapshot") {
    t.kind = restore::TargetKind::immediate;
  } else if (text.find('/') != std::string::npos) {
    t.kind = restore::TargetKind::lsn;
    t.value = text;
  } else {
    t.kind = restore::TargetKind::time;
    t.value = text;
  }
  return t;
}

}  // namespace

void add_drill_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "drill", "rehearse a disaster recovery in five timed phases and measure the RTO and RPO really achieved");
  static std::string report_path, html_path, snapshot = "latest", target = "latest";
  static bool keep = false;
  static std::optional<int> process_max;
  cmd->add_option("--report", report_path, "write the JSON report to FILE")->type_name("FILE");
  cmd->add_option("--html", html_path, "write a self-contained HTML report to FILE")->type_name("FILE");
  cmd->add_option("--snapshot", snapshot, "snapshot to recover from (default: latest)")->type_name("ID");
  cmd->add_option("--target", target,
                  "how far to recover: latest (default), immediate (the snapshot's end), a time, or an LSN")
      ->type_name("TARGET");
  cmd->add_flag("--keep", keep, "keep the DR cluster's directory (stopped) for a look");
  cmd->add_option("--repo", ctx.repo_name, "repository to recover from (default: the first configured)")->type_name("NAME");
  cmd->add_option("--process-max", process_max, "parallel restore workers (default: [backup] process_max)")
      ->check(CLI::Range(1, 64));
  cmd->callback([&ctx, &body] {
    body = [&ctx]() -> int {
      nlohmann::json report;
      try {
        const Config& cfg = ctx.config();
        drill::DrillOptions opt;
        repo::Repository repo = ctx.open_repo();
        opt.snapshot = snapshot;
        opt.target = parse_drill_target(target);
        restore::check_target(opt.target);
        opt.process_max = process_max.value_or(cfg.backup.process_max);
        opt.keep = keep;
        // The copy reads WAL from the repository it was restored from.
        opt.archive_get = restore::ArchiveGetCall::of_this_pgdr(cfg.source);
        opt.archive_get.repo = repo.name();
        int n = 0;
        opt.on_phase = [&n](const std::string& phase) {
          log_info("drill: phase " + std::to_string(++n) + "/5: " + phase);
        };
        report = drill::run_drill(cfg, repo, opt);
        send_report_alerts(cfg, "drill", report);
        record_and_trend(cfg, "drill", report);
        auto fig = [&](const char* k) {
          return report[k].is_number() ? format_seconds(report[k].get<double>()) : std::string("unknown");
        };
        record_audit(repo, "drill",
                     "snapshot " + (report["snapshot"].is_string() ? report["snapshot"].get<std::string>() : std::string("none")),
                     report.value("result", std::string("FAIL")),
                     "rto " + fig("rto_seconds") + ", rpo " + fig("rpo_seconds") +
                         (report.value("interrupted", false) ? ", interrupted" : ""));
      } catch (const Error& e) {
        // Could not run at all (configuration, repository): the monitoring convention's 3.
        std::fprintf(stderr, "pgdr: %s\n", e.what());
        if (!e.hint().empty()) std::fprintf(stderr, "HINT: %s\n", e.hint().c_str());
        return 3;
      }
      write_reports(report, report_path, html_path, drill::drill_html);
      std::fputs(drill::drill_summary(report).c_str(), stdout);
      if (report.value("interrupted", false)) {
        std::fputs("pgdr: drill interrupted: the DR cluster was stopped and removed\n", stderr);
        return 3;
      }
      return report_exit_code(report);
    };
  });
}

}  // namespace pgdr::cli
