// Sends log datagrams to the local syslog daemon: an AF_UNIX datagram socket, /dev/log (rsyslog,
// syslog-ng and journald all listen there), or the socket $PGDR_SYSLOG_SOCKET names (tests, and
// systems whose daemon listens elsewhere). pgdr writes to the socket itself rather than through
// syslog(3): openlog is process-wide state that the daemon's own logger also uses, and syslog(3)
// cannot be pointed at another socket, so it could not be tested without a system daemon. Owned by
// the log module; one thread sends at a time (log.cpp holds its lock).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/file.h"

namespace pgdr {

// The LOG_* facility code of <syslog.h> (already shifted) for "user", "daemon" or "local0" to
// "local7"; nullopt for any other name.
std::optional<int> syslog_facility_code(std::string_view name);

// $PGDR_SYSLOG_SOCKET when set and not empty, else /dev/log.
std::string syslog_socket_path();

class SyslogSocket {
 public:
  // Connects to path; throws Error(io) naming it (no daemon listening, no such socket).
  static SyslogSocket connect(const std::string& path);

  // Sends one datagram without waiting: when the daemon's queue is full the line is dropped rather
  // than holding up archive_command. Reconnects once when the daemon was restarted. Returns "" on
  // success, else why it failed.
  std::string send(std::string_view datagram);
  const std::string& path() const { return socket_.path(); }

 private:
  explicit SyslogSocket(File s) : socket_(std::move(s)) {}
  static File open_socket(const std::string& path);
  File socket_;
};

}  // namespace pgdr
