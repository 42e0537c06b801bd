// Requests to `pgdr daemon`'s HTTP server: the input is the raw bytes a client sends, read by
// cpp-httplib exactly as from a socket (request line, headers, query, body) and routed to the
// daemon's own handlers (daemon/http_routes.cpp), which answer from a fixed status and a catalog
// holding two runs. Every input goes to two servers: one open, one requiring the bearer token
// "fuzz-token" (the seeds send it), so both the handlers and the token check are reached. Any
// request must get an answer, never a crash or an escaping exception.
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "catalog/catalog.h"
#include "daemon/http_routes.h"
#include "fuzz_support.h"

using namespace pgdr;

namespace {

// The input as a connection that delivers it and then closes; answers are dropped.
class InputStream final : public httplib::Stream {
 public:
  InputStream(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, std::size_t n) override {
    n = std::min(n, size_ - pos_);
    std::memcpy(ptr, data_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, std::size_t n) override { return static_cast<ssize_t>(n); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 7433;
  }
  socket_t socket() const override { return -1; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// process_request is what cpp-httplib runs for each request read from a connection.
class Server final : public httplib::Server {
 public:
  bool handle(httplib::Stream& in) {
    bool closed = false;
    return process_request(in, true, closed, [](httplib::Request&) {});
  }
};

struct Fixture {
  Config config;
  daemon::Status status;
  daemon::BearerToken token{"fuzz-token"};
  Server open;
  Server guarded;
};

Fixture* make_fixture() {
  auto* f = new Fixture;
  static char dir[] = "/tmp/pgdr-fuzz-daemon-XXXXXX";
  if (!::mkdtemp(dir)) std::abort();
  std::atexit([] { std::filesystem::remove_all(dir); });
  f->config.cluster.name = "main";
  f->config.catalog.path = std::string(dir) + "/catalog.db";
  {
    auto catalog = catalog::Catalog::open(f->config.catalog.path);
    catalog::RunRecord run;
    run.kind = "verify";
    run.cluster = "main";
    run.started = std::chrono::system_clock::from_time_t(1700000000);
    run.seconds = 12.5;
    run.result = "PASS";
    run.report_json = R"({"result": "PASS", "checks": []})";
    catalog.record_run(run);
    run.kind = "drill";
    run.result = "FAIL";
    run.rto_seconds = 300;
    run.rpo_seconds = 4;
    catalog.record_run(run);
    f->status.runs = catalog.runs("", "main", 100);
  }
  f->status.now = std::chrono::system_clock::from_time_t(1700003600);
  f->status.jobs.runs[{"backup", "ok"}] = 3;
  f->status.jobs.last["backup"] = {"ok", 0, f->status.now, 42, ""};
  f->status.jobs.backup_period_seconds["backup"] = 3600;
  for (auto [server, token] : {std::pair{&f->open, static_cast<const daemon::BearerToken*>(nullptr)},
                                std::pair{&f->guarded, static_cast<const daemon::BearerToken*>(&f->token)}}) {
    daemon::add_http_routes(*server, f->config, token, [f] { return f->status; }, [] { return daemon::HttpStats{}; });
    // cpp-httplib answers 500 to a handler's exception; here it is a finding.
    server->set_exception_handler([](const httplib::Request& req, httplib::Response&, std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "handler of %s threw: %s\n", req.path.c_str(), x.what());
      }
      std::abort();
    });
  }
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture* f = make_fixture();
  for (Server* server : {&f->open, &f->guarded}) {
    InputStream in(data, size);
    server->handle(in);
  }
  return 0;
}
