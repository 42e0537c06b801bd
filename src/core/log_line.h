// The text of one log record in the log file and in syslog. Pure functions, thread-safe.
//
// A file line:  2026-12-06T05:30:17.123Z [4242] WARN archive-push cluster=main: <message>
// A syslog datagram (RFC 3164, as glibc's syslog(3) frames it, so that rsyslog and journald parse
// it alike): <PRI>Dec  6 05:30:17 pgdr[4242]: 2026-12-06T05:30:17.123Z WARN archive-push cluster=main: <message>
// The timestamp is UTC with milliseconds, as everywhere in pgdr; syslog's own header time has only
// seconds and no zone, so the message repeats it. A command or cluster not known yet is "-".
#pragma once

#include <string>
#include <string_view>

#include "core/log_level.h"
#include "core/time_format.h"

namespace pgdr {

struct LogRecord {
  SystemTime time;
  LogLevel level = LogLevel::info;
  std::string message;  // already one line (single_line)
};

// Where a record comes from: the command ("archive-push") and [cluster] name.
struct LogOrigin {
  std::string_view command;
  std::string_view cluster;
};

// "ERROR", "WARN", "INFO", "DEBUG": upper case, so that the level stands out of the message.
std::string_view log_level_tag(LogLevel level);

// text with every control character (newline, tab, escape...) replaced by a space: one record stays
// one line, and a name holding a newline cannot forge a line of its own.
std::string single_line(std::string_view text);

// The file's line, with its final newline.
std::string log_file_line(const LogRecord& record, const LogOrigin& origin, long pid);
// The message of the syslog datagram: the file's line without the pid (syslog's header has it)
// and without the newline.
std::string log_syslog_text(const LogRecord& record, const LogOrigin& origin);
// The whole datagram for facility (a LOG_* facility of <syslog.h>, already shifted): priority,
// local time as "Mmm dd hh:mm:ss", "pgdr[pid]: " and text.
std::string syslog_datagram(int facility, const LogRecord& record, long pid, std::string_view text);

}  // namespace pgdr
