#include "core/syslog_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace pgdr {

std::optional<int> syslog_facility_code(std::string_view name) {
  static constexpr std::pair<std::string_view, int> kFacilities[] = {
      {"user", LOG_USER},     {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
      {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
      {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
  for (const auto& [n, code] : kFacilities)
    if (n == name) return code;
  return std::nullopt;
}

std::string syslog_socket_path() {
  const char* env = std::getenv("PGDR_SYSLOG_SOCKET");
  return env && *env ? std::string(env) : std::string("/dev/log");
}

File SyslogSocket::open_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    throw Error(ErrorKind::io, "syslog socket path is too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(ErrorKind::io, "unable to create a socket for syslog: " + errno_text(errno));
  File s = File::adopt(fd, path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw Error(ErrorKind::io, "unable to reach syslog at " + path + ": " + errno_text(errno));
  return s;
}

SyslogSocket SyslogSocket::connect(const std::string& path) { return SyslogSocket(open_socket(path)); }

std::string SyslogSocket::send(std::string_view datagram) {
  for (int attempt = 0;; ++attempt) {
    if (::send(socket_.fd(), datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return "";
    const int err = errno;
    if (err == EINTR) continue;
    // The daemon restarted and bound a new socket at the same path: the old peer is gone.
    if (attempt == 0 && (err == ECONNREFUSED || err == ENOTCONN)) {
      try {
        socket_ = open_socket(socket_.path());
        continue;
      } catch (const Error& e) {
        return e.what();
      }
    }
    return errno_text(err);
  }
}

}  // namespace pgdr
