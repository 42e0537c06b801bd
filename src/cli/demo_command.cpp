#include <cstdio>

#include "cli/commands.h"
#include "cli/report_output.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "demo/demo.h"
#include "drill/drill_report.h"

namespace pgdr::cli {

void add_demo_command(CLI::App& app, Context&, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "demo", "run a retail shop on a throwaway PostgreSQL, destroy its primary after a sales load, recover it with a measured drill");
  static double scale = 1;
  static std::string duration_text = "30s", dir, output = "pgdr-demo";
  static int clients = 4;
  static bool keep = false;
  cmd->add_option("--scale", scale, "size of the retail database (1 = about 100 MB; default 1)")->type_name("S");
  cmd->add_option("--duration", duration_text, "how long the shop sells before the disaster (default 30s)")
      ->type_name("DURATION");
  cmd->add_option("--clients", clients, "concurrent tills, pgbench clients (default 4)")
      ->type_name("N")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--dir", dir, "work directory, new or empty (default: a fresh one under $TMPDIR, removed at the end)")
      ->type_name("DIR");
  cmd->add_option("--output", output, "where the drill reports go (default: ./pgdr-demo)")->type_name("DIR");
  cmd->add_flag("--keep", keep, "keep the work directory: repository, DR copy (stopped), logs");
  cmd->callback([&body] {
    body = []() -> int {
      demo::DemoOptions opt;
      opt.scale = scale;
      opt.sales_duration = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(duration_text));
      opt.clients = clients;
      opt.work_dir = dir;
      opt.keep = keep;
      opt.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
      make_directories(output, 0755);
      demo::DemoResult r = demo::run_demo(opt);
      const std::string json_path = output + "/drill.json", html_path = output + "/drill.html";
      write_reports(r.drill_report, json_path, html_path, drill::drill_html);
      if (!keep) r.work_dir.clear();
      std::fputs(demo::demo_summary(r, json_path, html_path).c_str(), stdout);
      return report_exit_code(r.drill_report);
    };
  });
}

}  // namespace pgdr::cli
