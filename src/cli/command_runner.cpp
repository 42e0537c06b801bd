#include "cli/command_runner.h"

#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"

namespace pgdr::cli {

namespace {

void print_error(const Error& e) {
  std::string line = "pgdr: " + std::string(e.what()) + "\n";
  if (!e.hint().empty()) line += "HINT: " + e.hint() + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace

int run(int argc, char** argv) {
  install_interrupt_handlers();
  CLI::App app{"pgdr: disaster recovery for PostgreSQL: snapshots, restore, and proof that they work", "pgdr"};
  app.set_version_flag("--version", std::string("pgdr ") + PGDR_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  Context ctx;
  app.add_option("--config", ctx.config_path,
                 "configuration file (default: $PGDR_CONFIG, ./pgdr.toml, /etc/pgdr/pgdr.toml)");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only warnings and errors");

  CommandBody body;
  add_init_command(app, ctx, body);
  add_backup_command(app, ctx, body);
  add_restore_command(app, ctx, body);
  add_info_command(app, ctx, body);
  add_expire_command(app, ctx, body);
  add_key_command(app, ctx, body);
  add_archive_push_command(app, ctx, body);
  add_archive_get_command(app, ctx, body);
  add_wal_stream_command(app, ctx, body);
  add_failover_command(app, ctx, body);
  add_verify_command(app, ctx, body);
  add_drill_command(app, ctx, body);
  add_measure_command(app, ctx, body);
  add_history_command(app, ctx, body);
  add_audit_command(app, ctx, body);
  add_demo_command(app, ctx, body);
  add_daemon_command(app, ctx, body);
  add_report_command(app, ctx, body);
  add_help_command(app, ctx, body);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::fprintf(stderr, "pgdr: %s\nHINT: run 'pgdr --help' or 'pgdr COMMAND --help'\n", msg.c_str());
    return 2;
  }
  set_log_quiet(quiet);
  try {
    if (!body) throw Error(ErrorKind::usage, "no command given");
    return body();
  } catch (const Error& e) {
    print_error(e);
    return action_exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    std::fputs("pgdr: out of memory\n", stderr);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pgdr: internal error: %s\n", e.what());
    return 1;
  }
}

}  // namespace pgdr::cli
