#include <cstdio>

#include "check/setup_check.h"
#include "cli/commands.h"
#include "core/duration.h"
#include "core/error.h"

namespace pgdr::cli {

namespace {

// Check commands answer 3 when they cannot run at all (monitoring-plugin UNKNOWN).
constexpr int kCouldNotRun = 3;

}  // namespace

void add_check_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "check", "prove the setup from the cluster's side: settings, repositories, keys, server programs, and "
               "archive_command through a forced WAL switch");
  static bool json = false;
  static std::string archive_timeout = "60s";
  cmd->add_flag("--json", json, "print the result as JSON instead of text");
  cmd->add_option("--archive-timeout", archive_timeout,
                  "how long the forced WAL segment may take to reach every repository")
      ->type_name("DURATION")
      ->default_val("60s");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      try {
        check::CheckOptions opt;
        opt.archive_timeout = parse_duration(archive_timeout);
        const Config& cfg = ctx.config();
        opt.pgdr_invocation = ctx.pgdr_invocation();
        check::SetupCheck setup(cfg, opt);
        const check::Report report = setup.run();
        const std::string out = json ? report.to_json().dump(2) + "\n" : report.text();
        std::fputs(out.c_str(), stdout);
        std::fflush(stdout);
        return report.exit_code();
      } catch (const Error& e) {
        std::string line = "pgdr: " + std::string(e.what()) + "\n";
        if (!e.hint().empty()) line += "HINT: " + e.hint() + "\n";
        std::fputs(line.c_str(), stderr);
        return kCouldNotRun;
      }
    };
  });
}

}  // namespace pgdr::cli
