#include "core/log.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log_config.h"
#include "core/log_file.h"
#include "core/log_line.h"
#include "core/syslog_socket.h"

namespace pgdr {

namespace {

// Lines logged before the configuration is read (its own warnings, say), kept for the file and
// syslog it names. A bound, because a command that never reads a configuration keeps them all.
constexpr std::size_t kEarlyLinesMax = 256;

struct LogState {
  std::mutex mu;  // guards everything below but level
  std::atomic<int> level{static_cast<int>(LogLevel::info)};
  std::optional<LogLevel> command_line;
  LogLevel configured = LogLevel::info;
  std::string command;
  std::string cluster;
  std::optional<LogFile> file;
  std::optional<SyslogSocket> syslog;
  int facility = LOG_USER;
  bool destinations_known = false;  // configure_log has run
  std::vector<LogRecord> early;
  bool file_failure_said = false;
  bool syslog_failure_said = false;
};

// Never destroyed: a thread may still log while the process exits and static objects go away.
LogState& state() {
  static LogState* s = new LogState;
  return *s;
}

void update_level(LogState& s) { s.level = static_cast<int>(s.command_line.value_or(s.configured)); }

// Said once per process on stderr only: a log file that cannot take lines must not flood the
// terminal or PostgreSQL's log with one warning per line.
void say_failure(bool& said, const std::string& what) {
  if (said) return;
  said = true;
  std::fputs(("pgdr: warning: " + what + "\n").c_str(), stderr);
}

void write_destinations(LogState& s, const LogRecord& record) {
  const LogOrigin origin{s.command, s.cluster};
  const long pid = static_cast<long>(::getpid());
  if (s.file) {
    std::string why = s.file->append(log_file_line(record, origin, pid));
    if (!why.empty()) say_failure(s.file_failure_said, "unable to write log file " + s.file->path() + ": " + why);
  }
  if (s.syslog) {
    std::string why = s.syslog->send(syslog_datagram(s.facility, record, pid, log_syslog_text(record, origin)));
    if (!why.empty()) say_failure(s.syslog_failure_said, "unable to log to syslog at " + s.syslog->path() + ": " + why);
  }
}

void emit(LogLevel level, std::string_view message, std::string_view hint) {
  if (!log_enabled(level)) return;
  std::string to_stderr = "pgdr: ";
  if (level == LogLevel::warn) to_stderr += "warning: ";
  if (level == LogLevel::debug) to_stderr += "debug: ";
  to_stderr.append(message).append("\n");
  if (!hint.empty()) to_stderr.append("HINT: ").append(hint).append("\n");
  std::string text(message);
  if (!hint.empty()) text.append("; HINT: ").append(hint);
  LogRecord record{std::chrono::system_clock::now(), level, single_line(text)};

  LogState& s = state();
  std::lock_guard lock(s.mu);
  std::fputs(to_stderr.c_str(), stderr);
  if (!s.destinations_known) {
    if (s.early.size() < kEarlyLinesMax) s.early.push_back(std::move(record));
    return;
  }
  write_destinations(s, record);
}

}  // namespace

void log_error(std::string_view message, std::string_view hint) { emit(LogLevel::error, message, hint); }
void log_warning(std::string_view message) { emit(LogLevel::warn, message, {}); }
void log_info(std::string_view message) { emit(LogLevel::info, message, {}); }
void log_debug(std::string_view message) { emit(LogLevel::debug, message, {}); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) <= state().level.load(); }

void set_command_line_log_level(std::optional<LogLevel> level) {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  s.command_line = level;
  update_level(s);
}

LogLevel log_level() { return static_cast<LogLevel>(state().level.load()); }
bool log_quiet() { return log_level() < LogLevel::info; }

void set_log_command(std::string_view command) {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  s.command = single_line(command);
}

void configure_log(const LogConfig& config, std::string_view cluster) {
  // Opened before the lock: opening a file on a slow mount must not hold up other threads' lines.
  std::vector<std::string> problems;
  std::optional<LogFile> file;
  std::optional<SyslogSocket> syslog;
  if (!config.file.empty()) {
    try {
      file = LogFile::open(config.file);
    } catch (const Error& e) {
      problems.push_back(std::string("[log] file is not written: ") + e.what());
    }
  }
  const std::optional<int> facility = syslog_facility_code(config.syslog_facility);
  if (facility) {
    try {
      syslog = SyslogSocket::connect(syslog_socket_path());
    } catch (const Error& e) {
      problems.push_back(std::string("[log] syslog is not written: ") + e.what());
    }
  }
  {
    LogState& s = state();
    std::lock_guard lock(s.mu);
    s.configured = config.level;
    update_level(s);
    s.cluster = cluster;
    s.file = std::move(file);
    s.syslog = std::move(syslog);
    s.facility = facility.value_or(LOG_USER);
    s.file_failure_said = s.syslog_failure_said = false;
    s.destinations_known = true;
    std::vector<LogRecord> early = std::move(s.early);
    s.early.clear();
    for (const auto& record : early)
      if (static_cast<int>(record.level) <= s.level.load()) write_destinations(s, record);
  }
  for (const auto& p : problems) log_warning(p);
}

}  // namespace pgdr
