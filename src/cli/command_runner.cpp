#include "cli/command_runner.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/suggestion.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"

namespace pgdr::cli {

namespace {

// The first word that names no command, before any command was recognised: skips options and the
// value of --config.
std::optional<std::string> unknown_command(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--config") {
      ++i;
      continue;
    }
    if (word.empty() || word.front() == '-') continue;
    for (const auto* sub : app.get_subcommands({}))
      if (sub->get_name() == word) return std::nullopt;
    return word;
  }
  return std::nullopt;
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

std::vector<std::string> option_names(const CLI::App& command) {
  std::vector<std::string> names;
  for (const auto* opt : command.get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

// prefix: the parent command's words ("key "), so that the suggestion can be typed as it stands.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix = "") {
  auto near = closest(word, candidates);
  return near ? " (did you mean '" + prefix + *near + "'?)" : "";
}

// What the user typed wrong, in pgdr's words where it can say more than CLI11: an unknown command
// or option with the nearest known one.
std::string usage_error_text(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (app.get_subcommands().empty()) {
    if (auto word = unknown_command(app, argc, argv)) return "unknown command '" + *word + "'" + did_you_mean(*word, command_names(app));
  }
  // Unknown options fall through to the top (fallthrough), whichever command they were meant for;
  // an unknown option also explains a "required" error (a mistyped --target-dir).
  std::vector<const CLI::App*> chain = {&app};
  while (!chain.back()->get_subcommands().empty()) chain.push_back(chain.back()->get_subcommands().back());
  const CLI::App& command = *chain.back();
  std::vector<std::string> known;
  for (const auto* c : chain)
    for (auto& name : option_names(*c)) known.push_back(std::move(name));
  // A command of commands (pgdr key) given a word that names none of them.
  if (&command != &app && !command.get_subcommands({}).empty()) {
    for (const auto* c : chain)
      for (const auto& extra : c->remaining())
        if (!extra.empty() && extra.front() != '-')
          return "unknown command '" + command.get_name() + " " + extra + "'" +
                 did_you_mean(extra, command_names(command), command.get_name() + " ");
  }
  for (const auto* c : chain) {
    for (const auto& extra : c->remaining()) {
      if (extra.size() < 2 || extra.front() != '-') continue;
      const std::string option = extra.substr(0, extra.find('='));
      const std::string where = &command == &app ? "" : " for '" + command.get_name() + "'";
      return "unknown option '" + option + "'" + where + did_you_mean(option, known);
    }
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && command.get_subcommands().empty() &&
      !command.get_subcommands({}).empty()) {
    std::string names;
    for (const auto& n : command_names(command)) names += (names.empty() ? "" : ", ") + n;
    return &command == &app ? "no command given (one of: " + names + ")"
                            : "'" + command.get_name() + "' needs a command: " + names;
  }
  return e.what();
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
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose,
               "print debug lines too: what is read and written where, lock waits, the choices made");

  CommandBody body;
  add_init_command(app, ctx, body);
  add_backup_command(app, ctx, body);
  add_restore_command(app, ctx, body);
  add_info_command(app, ctx, body);
  add_expire_command(app, ctx, body);
  add_key_command(app, ctx, body);
  add_archive_push_command(app, ctx, body);
  add_archive_get_command(app, ctx, body);
  add_archive_agent_command(app, ctx, body);
  add_check_command(app, ctx, body);
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
    const std::string msg = usage_error_text(app, e, argc, argv);
    std::fprintf(stderr, "pgdr: %s\nHINT: run 'pgdr --help' or 'pgdr COMMAND --help'\n", msg.c_str());
    return 2;
  }
  if (quiet) set_command_line_log_level(LogLevel::warn);
  if (verbose) set_command_line_log_level(LogLevel::debug);
  for (const auto* sub : app.get_subcommands()) set_log_command(sub->get_name());
  try {
    // Checked here rather than with CLI11's excludes(), which would print "Excludes:" in --help.
    if (quiet && verbose) throw Error(ErrorKind::usage, "--quiet and --verbose cannot be given together");
    if (!body) throw Error(ErrorKind::usage, "no command given");
    return body();
  } catch (const Error& e) {
    log_error(e.what(), e.hint());
    return action_exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    // Building the lines may need memory again; the short form on stderr needs none.
    try {
      log_error("out of memory");
    } catch (const std::bad_alloc&) {
      std::fputs("pgdr: out of memory\n", stderr);
    }
    return 1;
  } catch (const std::exception& e) {
    log_error(std::string("internal error: ") + e.what());
    return 1;
  }
}

}  // namespace pgdr::cli
