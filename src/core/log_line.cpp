#include "core/log_line.h"

#include <syslog.h>

#include <ctime>

namespace pgdr {

namespace {

int syslog_severity(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return LOG_ERR;
    case LogLevel::warn:
      return LOG_WARNING;
    case LogLevel::info:
      return LOG_INFO;
    case LogLevel::debug:
      return LOG_DEBUG;
  }
  return LOG_INFO;
}

std::string_view or_dash(std::string_view s) { return s.empty() ? std::string_view("-") : s; }

std::string common_part(const LogRecord& record, const LogOrigin& origin) {
  std::string out;
  out.append(log_level_tag(record.level))
      .append(" ")
      .append(or_dash(origin.command))
      .append(" cluster=")
      .append(or_dash(single_line(origin.cluster)))
      .append(": ")
      .append(record.message);
  return out;
}

}  // namespace

std::string_view log_level_tag(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "ERROR";
    case LogLevel::warn:
      return "WARN";
    case LogLevel::info:
      return "INFO";
    case LogLevel::debug:
      return "DEBUG";
  }
  return "INFO";
}

std::string single_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

std::string log_file_line(const LogRecord& record, const LogOrigin& origin, long pid) {
  return iso8601_ms(record.time) + " [" + std::to_string(pid) + "] " + common_part(record, origin) + "\n";
}

std::string log_syslog_text(const LogRecord& record, const LogOrigin& origin) {
  return iso8601_ms(record.time) + " " + common_part(record, origin);
}

std::string syslog_datagram(int facility, const LogRecord& record, long pid, std::string_view text) {
  const std::time_t t = std::chrono::system_clock::to_time_t(record.time);
  std::tm local{};
  localtime_r(&t, &local);
  char stamp[32];
  // "%e" pads the day with a space ("Dec  6"), as RFC 3164 wants.
  std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &local);
  std::string out = "<" + std::to_string(facility | syslog_severity(record.level)) + ">" + stamp + " pgdr[" +
                    std::to_string(pid) + "]: ";
  out.append(text);
  return out;
}

}  // namespace pgdr
