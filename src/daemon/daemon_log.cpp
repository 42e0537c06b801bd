#include "daemon/daemon_log.h"

#include <syslog.h>

#include <chrono>
#include <cstdio>

#include "core/log.h"
#include "core/time_format.h"

namespace pgdr::daemon {

DaemonLog::DaemonLog(bool use_syslog) : syslog_(use_syslog) {
  if (syslog_) openlog("pgdr", LOG_PID, LOG_DAEMON);
}

DaemonLog::~DaemonLog() {
  if (syslog_) closelog();
}

// -q keeps only failures, as for every command.
void DaemonLog::info(const std::string& line) {
  if (!log_quiet()) write(LOG_INFO, line);
}

void DaemonLog::error(const std::string& line) { write(LOG_ERR, line); }

void DaemonLog::write(int priority, const std::string& line) {
  std::string out = "pgdr daemon: " + iso8601_ms(std::chrono::system_clock::now()) + " " + line + "\n";
  std::lock_guard lock(mu_);
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
  if (syslog_) ::syslog(priority, "%s", line.c_str());
}

}  // namespace pgdr::daemon
