// The daemon's HTTP server: cpp-httplib's request parsing, routing and response writing, with the
// handling of connections replaced so that no client can hold the server (http_limits.h): one
// thread per connection up to max_connections, past it a 503 at once; a deadline for each whole
// request and for each response; a bound on the requests of one connection; optional TLS
// (tls_context.h) under the same deadlines, the handshake included.
//
// Register handlers, bind, then listen_after_bind() on one thread and stop() from another, as for
// httplib::Server. stop() returns at once; listen_after_bind() returns once every connection has
// ended (each within its deadlines).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "daemon/http_limits.h"
#include "daemon/status.h"
#include "daemon/tls_context.h"

namespace pgdr::daemon {

class HttpServer : public httplib::Server {
 public:
  // warn: where a line goes when connections are refused (at most one line a minute).
  HttpServer(const HttpLimits& limits, std::optional<TlsContext> tls, std::function<void(const std::string&)> warn);
  ~HttpServer() override;

  bool tls() const { return tls_.has_value(); }

  // What it counted since it started; any thread.
  HttpStats stats();

  // Binds host:port (port 0: a free one) with a full listen backlog; the port bound, or -1.
  // cpp-httplib 0.11 listens with a backlog of 5, fixed when Debian built it: a burst of clients
  // (the attack of the finding) overflowed it and a /health probe waited a SYN retransmit (1 s).
  int bind(const std::string& host, int port);

 private:
  bool process_and_close_socket(socket_t sock) override;
  void serve(int fd);
  void refuse(int fd);
  // False when the server is stopping: the connection is then closed at once.
  bool track(int fd);
  void untrack(int fd);
  void close_all();

  HttpLimits limits_;
  std::optional<TlsContext> tls_;
  std::function<void(const std::string&)> warn_;
  std::mutex mu_;
  std::set<int> open_;  // sockets of the connections in hand
  bool closing_ = false;
  std::atomic<std::uint64_t> timed_out_{0};
  std::atomic<std::uint64_t> too_large_{0};
  std::atomic<long> refused_{0};
  std::atomic<long> refused_reported_{0};
  std::atomic<std::int64_t> last_report_ms_{0};
};

}  // namespace pgdr::daemon
