#include <limits.h>
#include <unistd.h>

#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "daemon/daemon.h"

namespace pgdr::cli {

void add_daemon_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("daemon",
                                 "run the [schedule] jobs and serve /metrics, /health and the dashboard until SIGTERM");
  static bool use_syslog = false;
  cmd->add_flag("--syslog", use_syslog, "log job starts and ends to syslog as well as stderr");
  cmd->callback([&ctx, &body] {
    body = [&ctx]() -> int {
      const Config& cfg = ctx.config();
      daemon::DaemonOptions opt;
      opt.syslog = use_syslog;
      char exe[PATH_MAX];
      ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
      if (n <= 0) throw Error(ErrorKind::io, "unable to find this program's path in /proc/self/exe");
      opt.pgdr_binary.assign(exe, static_cast<std::size_t>(n));
      opt.config_path = std::filesystem::absolute(cfg.source).string();
      return daemon::run_daemon(cfg, opt, ctx.open_repos());
    };
  });
}

}  // namespace pgdr::cli
