#include "daemon/http_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstring>

#include "../storage/temp_dir.h"

namespace pgdr::daemon {
namespace {

// A connection that sends request and keeps what the server answers.
class StringStream final : public httplib::Stream {
 public:
  explicit StringStream(std::string request) : in_(std::move(request)) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, std::size_t n) override {
    n = std::min(n, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, std::size_t n) override {
    out_.append(ptr, n);
    return static_cast<ssize_t>(n);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 7433;
  }
  socket_t socket() const override { return -1; }
  const std::string& out() const { return out_; }

 private:
  std::string in_;
  std::size_t pos_ = 0;
  std::string out_;
};

// process_request is what cpp-httplib runs for each request read from a connection.
class Server final : public httplib::Server {
 public:
  std::string answer(const std::string& request) {
    StringStream s(request);
    bool closed = false;
    process_request(s, true, closed, [](httplib::Request&) {});
    return s.out();
  }
};

class HttpRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.cluster.name = "main";
    config_.catalog.path = dir_.path() + "/catalog.db";
    add_http_routes(server_, config_, nullptr, [] { return Status{}; }, [] { return HttpStats{}; });
  }
  std::string status_line(const std::string& path) {
    std::string out = server_.answer("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    return out.substr(0, out.find("\r\n"));
  }

  pgdr::test::TempDir dir_;
  Config config_;
  Server server_;
};

TEST_F(HttpRoutesTest, UnknownReportIsNotFound) {
  EXPECT_EQ(status_line("/reports/7"), "HTTP/1.1 404 Not Found");
}

// Found by fuzzing (tests/fuzz/corpus/daemon_http_fuzz/regress-report-id-overflow): an id beyond
// 64 bits made std::stoll throw in the handler, which cpp-httplib answered with a 500.
TEST_F(HttpRoutesTest, ReportIdBeyond64BitsIsNotFound) {
  EXPECT_EQ(status_line("/reports/7777777777777777777777777777777777777777772"), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(status_line("/reports/9223372036854775808"), "HTTP/1.1 404 Not Found");
}

}  // namespace
}  // namespace pgdr::daemon
