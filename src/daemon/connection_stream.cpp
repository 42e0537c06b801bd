#include "daemon/connection_stream.h"

#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgdr::daemon {

namespace {

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (rc != 0 || ::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                               NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    ip.clear();
    port = 0;
    return;
  }
  ip = host;
  port = std::atoi(serv);
}

}  // namespace

ConnectionStream::ConnectionStream(int fd, SSL* ssl, const HttpLimits& limits)
    : fd_(fd), ssl_(ssl), limits_(limits) {
  if (ssl_) {
    SSL_set_fd(ssl_, fd_);
    // A write that must wait is retried from a buffer cpp-httplib may since have moved.
    SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
  }
}

ConnectionStream::~ConnectionStream() {
  if (ssl_) SSL_free(ssl_);
}

ConnectionStream::Wait ConnectionStream::wait(short events, Clock::time_point deadline) const {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Wait::timeout;
    pollfd p{fd_, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Wait::failed;
    // An error or hang-up shows as readiness: the next recv or send tells which.
    if (rc > 0) return Wait::ready;
  }
}

bool ConnectionStream::handshake(Clock::time_point deadline) {
  if (!ssl_) return true;
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_accept(ssl_);
    if (rc == 1) return true;
    const int err = SSL_get_error(ssl_, rc);
    Wait w = err == SSL_ERROR_WANT_READ    ? wait(POLLIN, deadline)
             : err == SSL_ERROR_WANT_WRITE ? wait(POLLOUT, deadline)
                                           : Wait::failed;
    if (w == Wait::timeout) timed_out_ = true;
    if (w != Wait::ready) {
      ERR_clear_error();
      return false;
    }
  }
}

void ConnectionStream::begin_request(Clock::time_point deadline) {
  read_deadline_ = deadline;
  writing_ = false;
  timed_out_ = too_large_ = read_failed_ = false;
  request_bytes_ = 0;
}

ssize_t ConnectionStream::fill() {
  if (request_bytes_ >= limits_.max_request_bytes) {
    too_large_ = read_failed_ = true;
    return -1;
  }
  const std::size_t want = std::min(sizeof buffer_, limits_.max_request_bytes - request_bytes_);
  for (;;) {
    short waiting_for = POLLIN;
    ssize_t n;
    if (ssl_) {
      ERR_clear_error();
      const int rc = SSL_read(ssl_, buffer_, static_cast<int>(want));
      if (rc > 0) {
        n = rc;
      } else {
        const int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
          n = -2;
          waiting_for = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        } else {
          n = -1;
        }
      }
    } else {
      n = ::recv(fd_, buffer_, want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n = -2;
    }
    if (n >= 0) {
      buffer_begin_ = 0;
      buffer_end_ = static_cast<std::size_t>(n);
      request_bytes_ += buffer_end_;
      return n;
    }
    if (n == -1) {
      read_failed_ = true;
      return -1;
    }
    const Wait w = wait(waiting_for, read_deadline_);
    if (w != Wait::ready) {
      timed_out_ = w == Wait::timeout;
      read_failed_ = true;
      return -1;
    }
  }
}

bool ConnectionStream::is_readable() const {
  if (buffer_begin_ < buffer_end_ || (ssl_ && SSL_pending(ssl_) > 0)) return true;
  return wait(POLLIN, read_deadline_) == Wait::ready;
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (buffer_begin_ == buffer_end_) {
    const ssize_t n = fill();
    if (n <= 0) return n;
  }
  const std::size_t n = std::min(size, buffer_end_ - buffer_begin_);
  std::memcpy(ptr, buffer_ + buffer_begin_, n);
  buffer_begin_ += n;
  return static_cast<ssize_t>(n);
}

bool ConnectionStream::is_writable() const {
  if (read_failed_) return false;
  return wait(POLLOUT, writing_ ? write_deadline_ : Clock::now() + limits_.response_timeout) == Wait::ready;
}

ssize_t ConnectionStream::send_some(const char* ptr, size_t size, Clock::time_point deadline) {
  for (;;) {
    short waiting_for = POLLOUT;
    if (ssl_) {
      ERR_clear_error();
      const int rc = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 1 << 30)));
      if (rc > 0) return rc;
      const int err = SSL_get_error(ssl_, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return -1;
      waiting_for = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    } else {
      // MSG_NOSIGNAL: a client gone away is an error to return, not a SIGPIPE for the daemon.
      const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
    if (wait(waiting_for, deadline) != Wait::ready) return -1;
  }
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  // After a failed read cpp-httplib answers 400; the caller answers instead (send_final), or not.
  if (read_failed_) return -1;
  if (!writing_) {
    writing_ = true;
    write_deadline_ = Clock::now() + limits_.response_timeout;
  }
  return send_some(ptr, size, write_deadline_);
}

void ConnectionStream::send_final(std::string_view response) {
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  while (!response.empty()) {
    const ssize_t n = send_some(response.data(), response.size(), deadline);
    if (n <= 0) return;
    response.remove_prefix(static_cast<std::size_t>(n));
  }
}

void ConnectionStream::shutdown_tls() {
  if (ssl_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const { address_of(fd_, true, ip, port); }

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const { address_of(fd_, false, ip, port); }

}  // namespace pgdr::daemon
