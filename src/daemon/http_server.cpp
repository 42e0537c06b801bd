#include "daemon/http_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/connection_stream.h"
#include "daemon/connection_threads.h"

namespace pgdr::daemon {

namespace {

using Clock = std::chrono::steady_clock;

std::string plain_response(const std::string& status, const std::string& body) {
  return "HTTP/1.1 " + status + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Closes the socket however serve() ends. The shutdown first: a thread of ours still polling it
// (none should be) wakes rather than wait on a descriptor number that may be reused.
struct SocketCloser {
  int fd;
  ~SocketCloser() {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
};

}  // namespace

HttpServer::HttpServer(const HttpLimits& limits, std::optional<TlsContext> tls,
                       std::function<void(const std::string&)> warn)
    : limits_(limits), tls_(std::move(tls)), warn_(std::move(warn)) {
  new_task_queue = [this] { return new ConnectionThreads(limits_.max_connections, [this] { close_all(); }); };
  // What cpp-httplib announces in its Keep-Alive header; serve() enforces both.
  set_keep_alive_max_count(static_cast<size_t>(limits_.keep_alive_max_requests));
  set_keep_alive_timeout(std::chrono::ceil<std::chrono::seconds>(limits_.request_timeout).count());
  set_payload_max_length(limits_.max_request_bytes);
}

HttpServer::~HttpServer() = default;

int HttpServer::bind(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = bind_to_any_port(host);
    if (bound <= 0) return -1;
  } else if (!bind_to_port(host, port)) {
    return -1;
  }
  // Linux takes a second listen() on a listening socket as a new backlog.
  ::listen(svr_sock_, SOMAXCONN);
  return bound;
}

HttpStats HttpServer::stats() {
  HttpStats s;
  {
    std::lock_guard lock(mu_);
    s.connections_open = open_.size();
  }
  s.connections_refused = static_cast<std::uint64_t>(refused_.load());
  s.requests_timed_out = timed_out_.load();
  s.requests_too_large = too_large_.load();
  return s;
}

bool HttpServer::track(int fd) {
  std::lock_guard lock(mu_);
  if (closing_ || svr_sock_ == INVALID_SOCKET) return false;
  open_.insert(fd);
  return true;
}

void HttpServer::untrack(int fd) {
  std::lock_guard lock(mu_);
  open_.erase(fd);
}

void HttpServer::close_all() {
  std::lock_guard lock(mu_);
  closing_ = true;
  // The threads see their reads and writes fail and end; each closes its own socket.
  for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  SocketCloser closer{sock};
  if (ConnectionThreads::refusing()) {
    refuse(sock);
    return false;
  }
  if (!track(sock)) return false;
  serve(sock);
  untrack(sock);
  return true;
}

void HttpServer::refuse(int fd) {
  // On the accepting thread: nothing here may wait.
  static const std::string k503 =
      plain_response("503 Service Unavailable", "too many connections\n");
  if (!tls_) ::send(fd, k503.data(), k503.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  // What the client already sent is read, so that closing does not reset the connection (and
  // discard the 503) for data left unread.
  char drain[4096];
  for (int i = 0; i < 16 && ::recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0; ++i) {
  }

  const long refused = ++refused_;
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  std::int64_t last = last_report_ms_.load();
  if ((last == 0 || now_ms - last >= 60'000) && last_report_ms_.compare_exchange_strong(last, now_ms) && warn_) {
    const long since = refused - refused_reported_.exchange(refused);
    warn_("refused " + std::to_string(since) + " HTTP connection" + (since == 1 ? "" : "s") + ": " +
          std::to_string(limits_.max_connections) + " were open ([daemon] max_connections)");
  }
}

void HttpServer::serve(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return;
  SSL* ssl = tls_ ? SSL_new(tls_->get()) : nullptr;
  if (tls_ && ssl == nullptr) return;
  ConnectionStream stream(fd, ssl, limits_);

  // The first request's time runs from the connection, the handshake included; each next one's
  // from the end of the previous response, the keep-alive idle time included.
  Clock::time_point deadline = Clock::now() + limits_.request_timeout;
  if (!stream.handshake(deadline)) {
    if (stream.timed_out()) ++timed_out_;
    return;
  }
  for (int served = 0; served < limits_.keep_alive_max_requests; ++served) {
    stream.begin_request(deadline);
    const bool last = served + 1 == limits_.keep_alive_max_requests;
    bool client_closes = false;
    const bool answered = process_request(stream, last, client_closes, nullptr);
    if (stream.timed_out() || stream.too_large()) {
      // A silent kept-alive connection is simply closed (RFC 9112 9.6); a partial request is told.
      if (stream.too_large()) {
        ++too_large_;
        stream.send_final(plain_response("413 Content Too Large", "request too large\n"));
      } else if (stream.request_started()) {
        ++timed_out_;
        stream.send_final(plain_response("408 Request Timeout", "request not received in time\n"));
      }
      break;
    }
    if (!answered || client_closes || svr_sock_ == INVALID_SOCKET) break;
    deadline = Clock::now() + limits_.request_timeout;
  }
  stream.shutdown_tls();
}

}  // namespace pgdr::daemon
