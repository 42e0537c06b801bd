// One function per command: each adds its subcommand, options and help to the application and
// sets what runs when it is chosen. The definitions here are the single source of `pgdr --help`,
// `pgdr COMMAND --help` and the manual's option lists.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/context.h"

namespace pgdr::cli {

// The chosen command's body; returns the exit code.
using CommandBody = std::function<int()>;

void add_init_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_backup_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_restore_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_check_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_info_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_key_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_archive_push_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_archive_get_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_archive_agent_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_failover_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_verify_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_audit_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_drill_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_measure_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_history_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_demo_command(CLI::App& app, Context& ctx, CommandBody& body);
// `pgdr help [COMMAND...]` and `pgdr help --man`: app must be the whole application.
void add_help_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_wal_stream_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_expire_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_daemon_command(CLI::App& app, Context& ctx, CommandBody& body);
void add_report_command(CLI::App& app, Context& ctx, CommandBody& body);

}  // namespace pgdr::cli
