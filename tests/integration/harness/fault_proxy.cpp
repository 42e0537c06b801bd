#include "harness/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"

namespace pgdr::test {

namespace {

constexpr const char* kLoopback = "127.0.0.1";

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, kLoopback, &a.sin_addr);
  return a;
}

bool send_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// close() after SO_LINGER {on, 0} sends RST instead of FIN: the peer sees "connection reset".
void reset_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

std::string lowered(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::uint64_t content_length(const std::string& head) {
  const std::string low = lowered(head);
  const std::size_t at = low.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::stoull(low.substr(at + std::strlen("\r\ncontent-length:")));
}

std::string slow_down_answer(bool head_request) {
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request "
      "rate.</Message><RequestId>proxy</RequestId></Error>";
  std::string out = "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: " +
                    std::to_string(head_request ? 0 : body.size()) + "\r\n\r\n";
  if (!head_request) out += body;
  return out;
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  if (!open_listener()) throw_errno("unable to listen for the fault proxy on", kLoopback, errno);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(listener_mutex_);
    if (listener_ >= 0) ::close(listener_);
    listener_ = -1;
  }
  std::lock_guard lock(workers_mutex_);
  for (auto& t : workers_) t.join();
}

bool FaultProxy::open_listener() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(port_);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 64) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int err = errno;
    ::close(s);
    errno = err;
    return false;
  }
  port_ = ntohs(a.sin_port);
  std::lock_guard lock(listener_mutex_);
  listener_ = s;
  return true;
}

void FaultProxy::arm_upload(Action action, std::uint64_t after_bytes, int count) {
  std::lock_guard lock(arm_mutex_);
  armed_action_ = action;
  armed_after_bytes_ = after_bytes;
  armed_left_ = count;
}

void FaultProxy::answer_503(int count) { slowdowns_left_ = count; }
void FaultProxy::stall(bool on) { stalled_ = on; }

void FaultProxy::down(bool on) {
  down_ = on;
  std::lock_guard lock(listener_mutex_);
  if (on && listener_ >= 0) {
    ::close(listener_);
    listener_ = -1;
  }
}

void FaultProxy::accept_loop() {
  while (!stopping_) {
    int listener;
    {
      std::lock_guard lock(listener_mutex_);
      listener = listener_;
    }
    if (listener < 0) {
      // Back up after down(false): listen on the same port again.
      if (!down_ && !stopping_) open_listener();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(workers_mutex_);
    workers_.emplace_back([this, client] { serve(client); });
  }
}

void FaultProxy::serve(int client) {
  const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(upstream_port_);
  if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (upstream >= 0) ::close(upstream);
    reset_close(client);
    return;
  }
  std::string pending;          // client bytes not yet handled
  bool in_body = false;         // forwarding (or discarding) a request body
  bool discarding = false;      // the body of a request the proxy answers itself
  bool head_request = false;
  std::uint64_t body_left = 0;  // bytes of the current body still to come
  std::uint64_t body_seen = 0;
  bool armed = false;  // this request's body triggers the armed action
  Action action = Action::reset;
  std::uint64_t trigger_at = 0;
  bool client_open = true;
  char buf[64 * 1024];

  auto finish = [&](bool reset) {
    if (reset) {
      reset_close(client);
      reset_close(upstream);
    } else {
      ::close(client);
      ::close(upstream);
    }
  };

  while (true) {
    if (stopping_ || down_) return finish(true);
    if (stalled_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    pollfd p[2] = {{client, static_cast<short>(client_open ? POLLIN : 0), 0}, {upstream, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(upstream, buf, sizeof buf, 0);
      if (n <= 0 || !send_all(client, buf, static_cast<std::size_t>(n))) return finish(false);
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) {
      client_open = false;
      ::shutdown(upstream, SHUT_WR);
      continue;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    while (!pending.empty()) {
      if (!in_body) {
        const std::size_t end = pending.find("\r\n\r\n");
        if (end == std::string::npos) break;
        const std::string head = pending.substr(0, end + 4);
        pending.erase(0, end + 4);
        ++requests_;
        head_request = head.starts_with("HEAD ");
        body_left = content_length(head);
        body_seen = 0;
        in_body = true;
        discarding = false;
        armed = false;
        int left = slowdowns_left_.load();
        while (left > 0 && !slowdowns_left_.compare_exchange_weak(left, left - 1)) {
        }
        if (left > 0) {
          discarding = true;
        } else {
          std::lock_guard lock(arm_mutex_);
          if (armed_left_ > 0 && body_left > armed_after_bytes_) {
            --armed_left_;
            armed = true;
            action = armed_action_;
            trigger_at = armed_after_bytes_;
          }
        }
        if (!discarding && !send_all(upstream, head.data(), head.size())) return finish(false);
      }
      if (in_body) {
        std::uint64_t take = std::min<std::uint64_t>(body_left, pending.size());
        if (armed && body_seen + take >= trigger_at) {
          const std::uint64_t upto = trigger_at - body_seen;
          if (!send_all(upstream, pending.data(), upto)) return finish(false);
          armed = false;
          if (action == Action::reset) {
            ++resets_;
            return finish(true);
          }
          if (action == Action::stall) stall(true);
          if (action == Action::down) down(true);
          pending.erase(0, upto);
          body_seen += upto;
          body_left -= upto;
          break;  // the loop above applies the stall or the outage
        }
        if (!discarding && !send_all(upstream, pending.data(), take)) return finish(false);
        pending.erase(0, take);
        body_seen += take;
        body_left -= take;
        if (body_left == 0) {
          in_body = false;
          if (discarding) {
            ++slowdowns_;
            const std::string answer = slow_down_answer(head_request);
            if (!send_all(client, answer.data(), answer.size())) return finish(false);
          }
        }
      }
    }
  }
}

}  // namespace pgdr::test
