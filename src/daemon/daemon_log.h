// The log of `pgdr daemon`: one line per event on stderr, "pgdr daemon: <UTC time> <line>", and
// with --syslog the same line to syslog (identity pgdr, facility daemon). -q keeps only the errors.
// Thread-safe: the scheduler and the HTTP server's threads both log.
#pragma once

#include <mutex>
#include <string>

namespace pgdr::daemon {

class DaemonLog {
 public:
  explicit DaemonLog(bool use_syslog);
  ~DaemonLog();
  DaemonLog(const DaemonLog&) = delete;
  DaemonLog& operator=(const DaemonLog&) = delete;

  void info(const std::string& line);
  void error(const std::string& line);

 private:
  void write(int priority, const std::string& line);
  bool syslog_;
  std::mutex mu_;
};

}  // namespace pgdr::daemon
