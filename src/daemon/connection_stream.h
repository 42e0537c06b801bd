// One accepted HTTP connection as cpp-httplib's Stream, plain or TLS, with the deadlines of
// http_limits.h: reads of one request end at its deadline however the bytes trickle in (cpp-httplib
// 0.11's own SocketStream times out each read alone, so a client sending a byte every few seconds
// would hold it forever), writes of one response end at theirs, and a request may not send more
// than max_request_bytes.
//
// Owns the SSL object (when TLS) but not the socket, which its caller closes after it. The socket
// is non-blocking: every wait is a poll() up to a deadline. Used by one thread at a time.
#pragma once

#include <httplib.h>
#include <openssl/ssl.h>

#include <chrono>
#include <string_view>

#include "daemon/http_limits.h"

namespace pgdr::daemon {

class ConnectionStream : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  // fd: a connected, non-blocking socket. ssl: a fresh SSL for this connection, or nullptr.
  ConnectionStream(int fd, SSL* ssl, const HttpLimits& limits);
  ~ConnectionStream() override;
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;

  // The TLS handshake, done by deadline; false when it failed or the time ran out.
  bool handshake(Clock::time_point deadline);
  // The next request must be read whole by deadline; its response gets response_timeout from its
  // first write.
  void begin_request(Clock::time_point deadline);
  // What ended the request's reading, when it did not end well.
  bool timed_out() const { return timed_out_; }
  bool too_large() const { return too_large_; }
  // Whether any byte of the current request arrived (a kept-alive connection that stays silent
  // until its deadline is closed without an answer).
  bool request_started() const { return request_bytes_ > 0; }
  // A last answer written directly, for a request that timed out or was too large (cpp-httplib
  // would answer 400; the stream refuses its writes once a read failed); best effort, within 1 s.
  void send_final(std::string_view response);
  // Ends TLS politely (close_notify), without waiting for the peer's.
  void shutdown_tls();

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  enum class Wait { ready, timeout, failed };
  Wait wait(short events, Clock::time_point deadline) const;
  // Reads what is available into buffer_, waiting up to the read deadline; the bytes read, 0 at
  // the end of the stream, -1 on failure or timeout.
  ssize_t fill();
  ssize_t send_some(const char* ptr, size_t size, Clock::time_point deadline);

  int fd_;
  SSL* ssl_;
  HttpLimits limits_;
  Clock::time_point read_deadline_{};
  Clock::time_point write_deadline_{};
  bool writing_ = false;
  bool timed_out_ = false;
  bool too_large_ = false;
  bool read_failed_ = false;
  std::size_t request_bytes_ = 0;
  char buffer_[4096];
  std::size_t buffer_begin_ = 0;
  std::size_t buffer_end_ = 0;
};

}  // namespace pgdr::daemon
