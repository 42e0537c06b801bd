// The readiness sender against a real AF_UNIX datagram socket, as systemd binds it: a path socket
// and an abstract one (systemd uses "@/org/freedesktop/systemd1/notify" in containers and for user
// managers), and the refusals.
#include "daemon/service_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace pgdr::daemon {
namespace {

// A bound datagram socket that reads what is sent to it; address in NOTIFY_SOCKET's notation.
class Receiver {
 public:
  explicit Receiver(const std::string& address) : address_(address) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address.data(), address.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
    if (address[0] == '@')
      addr.sun_path[0] = '\0';
    else
      length += 1;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), length), 0) << std::strerror(errno);
    timeval timeout{5, 0};  // a missing datagram fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~Receiver() {
    ::close(fd_);
    if (address_[0] == '/') std::filesystem::remove(address_);
  }
  std::string receive() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing: ") + std::strerror(errno) + ">" : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  std::string address_;
  int fd_ = -1;
};

std::string temp_socket_path() {
  return (std::filesystem::temp_directory_path() / ("pgdr-notify-" + std::to_string(::getpid()) + ".sock")).string();
}

TEST(ServiceNotify, SendsOneDatagramToAPathSocket) {
  const std::string path = temp_socket_path();
  Receiver receiver(path);
  send_service_notification(path, "READY=1\nSTATUS=running the schedule");
  EXPECT_EQ(receiver.receive(), "READY=1\nSTATUS=running the schedule");
  send_service_notification(path, "STOPPING=1");
  EXPECT_EQ(receiver.receive(), "STOPPING=1");
}

TEST(ServiceNotify, SendsToAnAbstractSocketNamedWithAnAt) {
  const std::string address = "@pgdr-notify-test-" + std::to_string(::getpid());
  Receiver receiver(address);
  send_service_notification(address, "READY=1");
  EXPECT_EQ(receiver.receive(), "READY=1");
}

TEST(ServiceNotify, TakeNotifySocketReadsAndUnsetsTheVariable) {
  const std::string path = temp_socket_path();
  Receiver receiver(path);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  const std::string taken = take_notify_socket();
  EXPECT_EQ(taken, path);
  // Unset, so that child processes (jobs, a drill's PostgreSQL) cannot notify in the daemon's name.
  EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);
  send_service_notification(taken, "READY=1");
  EXPECT_EQ(receiver.receive(), "READY=1");
  EXPECT_EQ(take_notify_socket(), "");
}

TEST(ServiceNotify, AMissingSocketIsAnIoErrorNamingIt) {
  const std::string path = temp_socket_path() + ".missing";
  try {
    send_service_notification(path, "READY=1");
    FAIL() << "sent to a socket that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(std::string(e.what()), "unable to notify the service manager at " + path + " (No such file or directory)");
  }
}

TEST(ServiceNotify, RefusesAddressesItDoesNotSpeak) {
  for (const std::string& address : {std::string("vsock:2:1234"), std::string("relative/path"), std::string(200, '/')}) {
    try {
      send_service_notification(address, "READY=1");
      FAIL() << address;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::io) << address;
      EXPECT_NE(std::string(e.what()).find("unable to notify the service manager at"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace pgdr::daemon
