// FaultProxy: a TCP proxy on 127.0.0.1 between a client under test and an HTTP/1.1 server (s3rver),
// which damages the traffic on request: a connection reset in the middle of an upload, a burst of
// "503 SlowDown" answers that never reach the server, a stall (no byte moves either way), or the
// server going away (connections reset, new ones refused) and coming back on the same port.
//
// It reads request heads (Content-Length bodies only; the driver under test never sends chunked
// bodies) so that faults hit whole requests and it can count them. One thread accepts, one thread
// serves each connection; the destructor stops and joins them all. Fault setters may be called from
// any thread at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pgdr::test {

class FaultProxy {
 public:
  // What happens when an armed upload crosses its byte threshold.
  enum class Action { reset, stall, down };

  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The next `count` request bodies larger than after_bytes trigger action once they have passed
  // after_bytes to the server: reset cuts that connection with a TCP RST; stall and down act as
  // stall(true) and down(true).
  void arm_upload(Action action, std::uint64_t after_bytes, int count = 1);
  // The next count requests are answered "503 SlowDown" by the proxy itself.
  void answer_503(int count);
  // While on, no byte moves on any connection (requests stall until the client gives up).
  void stall(bool on);
  // While on, open connections are reset and the port refuses connections.
  void down(bool on);

  std::uint64_t requests() const { return requests_.load(); }  // request heads seen
  int resets() const { return resets_.load(); }
  int slowdowns() const { return slowdowns_.load(); }

 private:
  void accept_loop();
  void serve(int client);
  bool open_listener();

  int upstream_port_;
  int port_ = 0;
  std::mutex listener_mutex_;
  int listener_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stalled_{false};
  std::atomic<bool> down_{false};
  std::atomic<int> slowdowns_left_{0};
  std::mutex arm_mutex_;
  Action armed_action_ = Action::reset;
  std::uint64_t armed_after_bytes_ = 0;
  int armed_left_ = 0;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<int> resets_{0};
  std::atomic<int> slowdowns_{0};
  std::thread acceptor_;
  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;
};

}  // namespace pgdr::test
