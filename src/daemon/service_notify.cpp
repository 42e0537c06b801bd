#include "daemon/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace pgdr::daemon {

namespace {

// Closes the socket on every path out of send_service_notification.
class SocketFd {
 public:
  explicit SocketFd(int fd) : fd_(fd) {}
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  ~SocketFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Error notify_error(const std::string& address, const std::string& why) {
  return Error(ErrorKind::io, "unable to notify the service manager at " + address + " (" + why + ")");
}

}  // namespace

void send_service_notification(const std::string& socket_address, std::string_view state) {
  if (socket_address.empty() || (socket_address[0] != '/' && socket_address[0] != '@'))
    throw notify_error(socket_address, "not a socket path or an abstract socket name");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_address.size() > sizeof(addr.sun_path) - 1)
    throw notify_error(socket_address, "address longer than a unix socket address");
  std::memcpy(addr.sun_path, socket_address.data(), socket_address.size());
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_address.size());
  if (socket_address[0] == '@') {
    // An abstract name is the bytes after a leading NUL, its length given by the address length
    // alone (no terminating NUL), as sd_notify(3) reads "@" in NOTIFY_SOCKET.
    addr.sun_path[0] = '\0';
  } else {
    length += 1;  // a path is terminated
  }
  SocketFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw notify_error(socket_address, std::strerror(errno));
  ssize_t sent;
  do {
    // MSG_NOSIGNAL: a manager gone away must not kill the daemon with SIGPIPE.
    sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), length);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw notify_error(socket_address, std::strerror(errno));
  if (static_cast<std::size_t>(sent) != state.size()) throw notify_error(socket_address, "datagram sent in part");
}

std::string take_notify_socket() {
  const char* value = std::getenv("NOTIFY_SOCKET");
  std::string address = value == nullptr ? std::string() : std::string(value);
  ::unsetenv("NOTIFY_SOCKET");
  return address;
}

}  // namespace pgdr::daemon
