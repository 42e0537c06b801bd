#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "failover/failover.h"

namespace pgdr::cli {

void add_failover_command(CLI::App& app, Context&, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "failover", "promote a standby, wait until it takes writes, check it, and report the measured switchover time");
  static failover::FailoverOptions opt;
  static bool json = false;
  cmd->add_option("--standby-conninfo", opt.conninfo, "libpq connection string of the standby to promote")->required();
  cmd->add_option("--timeout", opt.timeout_seconds, "seconds to wait for promotion and the first write")
      ->default_val(60)
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--json", json, "print the measurements as JSON");
  cmd->callback([&body] {
    body = [] {
      auto r = failover::run_failover(opt);
      if (json) {
        nlohmann::json j = {{"result", "PASS"},
                            {"switchover_seconds", r.writable_seconds},
                            {"promote_seconds", r.promote_seconds},
                            {"health_check_seconds", r.health_seconds},
                            {"timeline", r.timeline},
                            {"first_write_lsn", r.lsn},
                            {"measured", "wall clock from the promote request to the first committed write"}};
        std::printf("%s\n", j.dump(2).c_str());
      } else {
        std::printf("promoted: timeline %s, writable after %.3f s (promotion %.3f s), health check passed at %.3f s\n",
                    r.timeline.c_str(), r.writable_seconds, r.promote_seconds, r.health_seconds);
      }
      return 0;
    };
  });
}

}  // namespace pgdr::cli
