// The lines a command writes besides its output: errors, warnings, notes and debugging detail.
// Each goes to stderr for the person at the terminal (or PostgreSQL's log, for archive_command)
// and, when `[log]` configures them, to a log file and to syslog, with a timestamp, its level, the
// command and the cluster (log_line.h). One threshold applies to every destination: a line of a
// level above it is not built into any of them.
//
// stderr keeps its short forms: "pgdr: MESSAGE" (error, then "HINT: ..." on its own line),
// "pgdr: warning: MESSAGE", "pgdr: MESSAGE" (info), "pgdr: debug: MESSAGE".
//
// Never pass a secret: messages are written as given (redact URLs with core/redact.h and never
// format a conninfo, a passphrase or a key). Every function may be called from any thread; lines
// are written whole.
#pragma once

#include <optional>
#include <string_view>

#include "core/log_level.h"

namespace pgdr {

struct LogConfig;

// An error that ends the command, as the command edge reports it; hint goes on a "HINT:" line on
// stderr and after the message in the file and syslog.
void log_error(std::string_view message, std::string_view hint = {});
void log_warning(std::string_view message);
void log_info(std::string_view message);
void log_debug(std::string_view message);
// Whether a line of this level is written: lets a caller skip building a costly debug message.
bool log_enabled(LogLevel level);

// The level of this run from the command line (-q: warn, -v: debug); it wins over `[log] level`.
// nullopt: none given.
void set_command_line_log_level(std::optional<LogLevel> level);
LogLevel log_level();
// Below info: -q, or `[log] level` "warn" or "error" (the progress line stays off too).
bool log_quiet();

// The command this process runs ("archive-push"), named in every file and syslog line.
void set_log_command(std::string_view command);
// Applies the configuration once it is read: its level (unless the command line gave one), the
// log file and syslog, and the cluster name of each line. The lines logged before, since the
// process started, then reach the file and syslog too. A file or syslog that cannot be opened is
// reported by a warning on stderr, and the command goes on without it: logging never stops an
// archive_command. Calling it again replaces the previous destinations.
void configure_log(const LogConfig& config, std::string_view cluster);

}  // namespace pgdr
