// The connection stream's deadlines over a socket pair, no server: a request trickled in byte by
// byte ends at its deadline though every byte comes well within cpp-httplib's per-read timeout; a
// request past max_request_bytes ends; a response to a client that never reads ends at
// response_timeout; after a failed read only the final answer is written.
#include "daemon/connection_stream.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace pgdr::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = ConnectionStream::Clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class StreamPair : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_ = fds[0];
    client_ = fds[1];
    ASSERT_EQ(::fcntl(server_, F_SETFL, ::fcntl(server_, F_GETFL) | O_NONBLOCK), 0);
  }
  void TearDown() override {
    stop_ = true;
    if (writer_.joinable()) writer_.join();
    ::close(server_);
    ::close(client_);
  }
  // Sends head at once, then one byte every 100 ms until stopped (at most 5 s).
  void trickle(const std::string& head) {
    writer_ = std::thread([this, head] {
      ::send(client_, head.data(), head.size(), MSG_NOSIGNAL);
      for (int i = 0; i < 50 && !stop_; ++i) {
        std::this_thread::sleep_for(100ms);
        ::send(client_, "X", 1, MSG_NOSIGNAL);
      }
    });
  }
  int server_ = -1, client_ = -1;
  std::atomic<bool> stop_{false};
  std::thread writer_;
};

TEST_F(StreamPair, ATrickledRequestEndsAtItsDeadlineAndOnlyTheFinalAnswerIsWritten) {
  HttpLimits limits;
  ConnectionStream s(server_, nullptr, limits);
  trickle("GET / HTTP/1.1\r\n");
  const auto t0 = Clock::now();
  s.begin_request(t0 + 600ms);
  char c;
  ssize_t n = 0;
  std::size_t got = 0;
  while ((n = s.read(&c, 1)) == 1) ++got;
  const double took = since(t0);
  EXPECT_EQ(n, -1);
  EXPECT_TRUE(s.timed_out());
  EXPECT_FALSE(s.too_large());
  EXPECT_TRUE(s.request_started());
  EXPECT_GE(took, 0.55);
  EXPECT_LT(took, 1.0);
  EXPECT_GT(got, 16u);  // the head, then some trickled bytes: every single read was in time
  stop_ = true;
  writer_.join();

  EXPECT_EQ(s.write("HTTP/1.1 400 Bad Request\r\n", 26), -1);
  s.send_final("HTTP/1.1 408 Request Timeout\r\n\r\n");
  char buf[64] = {};
  ASSERT_GT(::recv(client_, buf, sizeof buf - 1, 0), 0);
  EXPECT_STREQ(buf, "HTTP/1.1 408 Request Timeout\r\n\r\n");
}

TEST_F(StreamPair, ASilentConnectionTimesOutWithoutARequest) {
  ConnectionStream s(server_, nullptr, HttpLimits{});
  const auto t0 = Clock::now();
  s.begin_request(t0 + 200ms);
  char c;
  EXPECT_EQ(s.read(&c, 1), -1);
  EXPECT_TRUE(s.timed_out());
  EXPECT_FALSE(s.request_started());
  EXPECT_GE(since(t0), 0.18);
}

TEST_F(StreamPair, ARequestPastMaxRequestBytesEnds) {
  HttpLimits limits;
  limits.max_request_bytes = 1000;
  ConnectionStream s(server_, nullptr, limits);
  std::string big(3000, 'a');
  ASSERT_EQ(::send(client_, big.data(), big.size(), 0), 3000);
  s.begin_request(Clock::now() + 2s);
  char buf[256];
  std::size_t got = 0;
  ssize_t n;
  while ((n = s.read(buf, sizeof buf)) > 0) got += static_cast<std::size_t>(n);
  EXPECT_EQ(n, -1);
  EXPECT_EQ(got, 1000u);
  EXPECT_TRUE(s.too_large());
  EXPECT_FALSE(s.timed_out());

  // The next request on the connection has its own budget.
  s.begin_request(Clock::now() + 2s);
  EXPECT_GT(s.read(buf, sizeof buf), 0);
}

TEST_F(StreamPair, AResponseToAClientThatDoesNotReadEndsAtResponseTimeout) {
  HttpLimits limits;
  limits.response_timeout = 300ms;
  ConnectionStream s(server_, nullptr, limits);
  ASSERT_EQ(::send(client_, "GET / HTTP/1.1\r\n\r\n", 18, 0), 18);
  s.begin_request(Clock::now() + 1s);
  char buf[32];
  ASSERT_EQ(s.read(buf, sizeof buf), 18);
  std::string chunk(64 * 1024, 'b');
  const auto t0 = Clock::now();
  ssize_t n = 0;
  for (int i = 0; i < 1000 && (n = s.write(chunk.data(), chunk.size())) > 0; ++i) {
  }
  EXPECT_EQ(n, -1);
  EXPECT_GE(since(t0), 0.25);
  EXPECT_LT(since(t0), 1.5);
}

}  // namespace
}  // namespace pgdr::daemon
