// pgdr daemon's HTTP server against hostile and careless clients, over loopback only: clients that
// trickle a header line every 3 s (8, then 64 of them) neither hold /health and /metrics (each
// answers within 1 s) nor stay connected past request_timeout; a connection past max_connections is
// refused at once; with a token every page but /health answers 401 without it, and the token never
// reaches the log; TLS with a self-signed certificate made here by the openssl CLI; a token or key
// file open to group or others stops the start. No PostgreSQL: the daemon serves an empty
// repository with no schedule.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/subprocess.h"
#include "harness/background_process.h"
#include "harness/pgdr_runner.h"
#include "harness/server_user.h"
#include "harness/temp_dir.h"

namespace pgdr::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kPass = "daemon http test passphrase 51c2";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A TCP connection to 127.0.0.1:port, or -1.
int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// What one read of fd gives within timeout: the bytes, "" at the end of the stream, or
// "<timeout>".
std::string read_within(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "<timeout>";
  char buf[512];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// Clients that send a request line, then one header line every 3 s and never the blank line that
// ends the headers, as in the finding. One thread drives them all until every connection is closed
// by the server or the time is up; each records when the server closed it and what it answered.
class Tricklers {
 public:
  Tricklers(int port, int count, std::chrono::seconds run_for) {
    for (int i = 0; i < count; ++i) {
      Conn c;
      c.fd = connect_loopback(port);
      c.opened = Clock::now();
      if (c.fd >= 0) {
        std::string line = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        ::send(c.fd, line.data(), line.size(), MSG_NOSIGNAL);
      }
      conns_.push_back(c);
    }
    thread_ = std::thread([this, run_for] { run(Clock::now() + run_for); });
  }
  ~Tricklers() {
    if (thread_.joinable()) thread_.join();
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
  }
  // Waits for the driving thread (bounded by run_for).
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  struct Conn {
    int fd = -1;
    Clock::time_point opened;
    double closed_after = -1;  // seconds from opening to the server's close; -1 while open
    std::string answer;
  };
  const std::vector<Conn>& conns() const { return conns_; }

 private:
  void run(Clock::time_point end) {
    auto next_line = Clock::now() + 3s;
    int n = 0;
    while (Clock::now() < end) {
      std::vector<pollfd> fds;
      std::vector<Conn*> who;
      for (auto& c : conns_)
        if (c.fd >= 0 && c.closed_after < 0) {
          fds.push_back({c.fd, POLLIN, 0});
          who.push_back(&c);
        }
      if (fds.empty()) return;
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(std::min(next_line, end) - Clock::now());
      int rc = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(wait.count(), 0)));
      for (std::size_t i = 0; rc > 0 && i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[512];
        ssize_t got = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (got > 0) {
          who[i]->answer.append(buf, static_cast<std::size_t>(got));
        } else {
          who[i]->closed_after = seconds_since(who[i]->opened);
        }
      }
      if (Clock::now() >= next_line) {
        std::string line = "X-Slow-" + std::to_string(n++) + ": still here\r\n";
        for (auto* c : who)
          if (c->closed_after < 0) ::send(c->fd, line.data(), line.size(), MSG_NOSIGNAL);
        next_line += 3s;
      }
    }
  }

  std::vector<Conn> conns_;
  std::thread thread_;
};

struct Http {
  int status = 0;
  std::string body;
  double seconds = 0;
};

class DaemonHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = std::make_unique<TempDir>("pgdr-http");
    repo_dir_ = work_->file("repo");
  }
  void TearDown() override {
    daemon_.reset();
    work_.reset();
  }

  // A configuration with an empty local repository, no schedule and [daemon] listen on a free
  // loopback port, plus daemon_keys in [daemon].
  void configure(const std::string& daemon_keys = "") {
    config_ = work_->write_file(
        "pgdr.toml", "[cluster]\nname = \"http\"\npgdata = \"" + work_->file("pgdata") +
                         "\"\nconninfo = \"host=127.0.0.1 port=1\"\n[[repo]]\nname = \"local\"\npath = \"" + repo_dir_ +
                         "\"\n[key]\npassphrase_env = \"PGDR_PASSPHRASE\"\n[catalog]\npath = \"" +
                         work_->file("catalog.db") + "\"\n[daemon]\nlisten = \"127.0.0.1:0\"\n" + daemon_keys);
    if (!initialized_) {
      ProcessResult r = run_pgdr({"--config", config_, "init"}, {std::string("PGDR_PASSPHRASE=") + kPass});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      initialized_ = true;
    }
  }

  void launch(const std::vector<std::string>& env) {
    std::vector<std::string> e = env;
    e.push_back(std::string("PGDR_PASSPHRASE=") + kPass);
    daemon_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{pgdr_path(), "--config", config_, "daemon"},
                                                  e, work_->file("daemon.log"));
  }

  // Starts the daemon and waits for its "listening on" line; sets base_url_ and port_.
  void start_daemon(const std::vector<std::string>& env = {}) {
    launch(env);
    static const std::regex listening(R"(listening on (https?://127\.0\.0\.1:(\d+))/)");
    for (int i = 0; i < 300; ++i) {
      std::smatch m;
      std::string log = daemon_->log();
      if (std::regex_search(log, m, listening)) {
        base_url_ = m[1].str();
        port_ = std::stoi(m[2].str());
        return;
      }
      ASSERT_TRUE(daemon_->running()) << "the daemon exited:\n" << log;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "the daemon did not start listening:\n" << daemon_->log();
  }

  // Starts the daemon expecting it to refuse to start: returns its exit code (-1 if it still runs
  // after 30 s) and leaves its output in daemon_->log().
  int start_expecting_failure(const std::vector<std::string>& env = {}) {
    launch(env);
    for (int i = 0; i < 300 && daemon_->running(); ++i) std::this_thread::sleep_for(100ms);
    return daemon_->running() ? -1 : daemon_->exit_code();
  }

  // A self-signed certificate for 127.0.0.1 made by the openssl CLI: the certificate's path (readable
  // by the daemon) and the private key's PEM text.
  std::pair<std::string, std::string> make_certificate() {
    const std::string cert = work_->file("cert.pem"), key_tmp = work_->file("key.tmp");
    ProcessResult made =
        run_process({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", key_tmp, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                     "subjectAltName=IP:127.0.0.1"});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    give_to_server_user(cert);
    ProcessResult pem = run_process({"cat", key_tmp});
    std::filesystem::remove(key_tmp);
    EXPECT_NE(pem.out.find("PRIVATE KEY"), std::string::npos);
    return {cert, pem.out};
  }

  // curl as a scraper would, given up after 5 s; the wall time it took.
  Http get(const std::string& path, const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(base_url_ + path);
    const auto t0 = Clock::now();
    ProcessResult r = run_process(argv);
    Http h;
    h.seconds = seconds_since(t0);
    auto nl = r.out.rfind('\n');
    if (r.exit_code != 0 || nl == std::string::npos) return h;
    h.status = std::atoi(r.out.c_str() + nl + 1);
    h.body = r.out.substr(0, nl);
    return h;
  }

  // While `count` clients trickle headers, /health and /metrics answer within 1 s, three times over
  // the trickle period; then every trickler has been answered 408 and dropped at request_timeout.
  void expect_unharmed_by_tricklers(int count) {
    SCOPED_TRACE(std::to_string(count) + " trickling clients");
    Tricklers slow(port_, count, 12s);
    for (const auto& c : slow.conns()) ASSERT_GE(c.fd, 0) << "a slow client could not connect";
    for (int round = 0; round < 3; ++round) {
      std::this_thread::sleep_for(round == 0 ? 500ms : 1500ms);
      Http h = get("/health");
      EXPECT_EQ(h.status, 503) << h.body;  // an empty repository: unhealthy, and saying why
      EXPECT_EQ(h.body, "no snapshot in repository 'local'\n");
      EXPECT_LT(h.seconds, 1.0) << "round " << round;
      Http m = get("/metrics");
      EXPECT_EQ(m.status, 200);
      EXPECT_NE(m.body.find("\npgdr_healthy 0\n"), std::string::npos) << m.body;
      EXPECT_LT(m.seconds, 1.0) << "round " << round;
    }
    slow.join();
    for (const auto& c : slow.conns()) {
      // request_timeout is 5 s by default; the trickle never ends the headers.
      EXPECT_GE(c.closed_after, 4.5) << c.answer;
      EXPECT_LT(c.closed_after, 7.0) << c.answer;
      EXPECT_TRUE(c.answer.starts_with("HTTP/1.1 408 Request Timeout\r\n")) << c.answer;
    }
  }

  std::unique_ptr<TempDir> work_;
  std::string repo_dir_, config_, base_url_;
  int port_ = 0;
  bool initialized_ = false;
  std::unique_ptr<BackgroundProcess> daemon_;
};

TEST_F(DaemonHttpTest, TricklingClientsDoNotHoldHealthOrMetricsAndAreDropped) {
  configure();
  start_daemon();
  expect_unharmed_by_tricklers(8);
  expect_unharmed_by_tricklers(64);
  // No connection was refused: 64 is under the default cap. Every trickler was counted.
  EXPECT_EQ(daemon_->log().find("refused"), std::string::npos) << daemon_->log();
  Http m = get("/metrics");
  EXPECT_NE(m.body.find("\npgdr_http_requests_timed_out_total 72\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("\npgdr_http_connections_refused_total 0\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("\npgdr_http_connections_open 1\n"), std::string::npos) << m.body;
  EXPECT_EQ(daemon_->stop(30), 0) << daemon_->log();
}

TEST_F(DaemonHttpTest, AConnectionPastTheCapIsRefusedAtOnceAndTheOthersAreServed) {
  configure("max_connections = 4\nrequest_timeout = \"3s\"\n");
  start_daemon();
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(connect_loopback(port_));
  for (int fd : held) ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(300ms);  // the server has taken the four

  const auto t0 = Clock::now();
  int extra = connect_loopback(port_);
  ASSERT_GE(extra, 0);
  std::string answer = read_within(extra, 2000ms);
  EXPECT_LT(seconds_since(t0), 1.0);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << answer;
  EXPECT_NE(answer.find("too many connections"), std::string::npos) << answer;
  EXPECT_EQ(read_within(extra, 2000ms), "") << "the refused connection is closed";
  ::close(extra);

  // A held connection that stays silent is closed at request_timeout, without an answer.
  EXPECT_EQ(read_within(held[0], 5000ms), "");
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(300ms);
  Http h = get("/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_LT(h.seconds, 1.0);
  EXPECT_NE(daemon_->log().find("refused 1 HTTP connection: 4 were open ([daemon] max_connections)"),
            std::string::npos)
      << daemon_->log();
  Http m = get("/metrics");
  EXPECT_NE(m.body.find("\npgdr_http_connections_refused_total 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("\npgdr_http_requests_timed_out_total 0\n"), std::string::npos) << m.body;
  EXPECT_EQ(daemon_->stop(30), 0) << daemon_->log();
}

TEST_F(DaemonHttpTest, WithATokenEveryPageButHealthAnswers401AndTheTokenIsNeverLogged) {
  const std::string token = "d41f3c0a9be24c1f8e0b7a5d6c3e2f10-token";
  const std::string token_file = work_->write_file("token", token + "\n", 0600);
  configure("auth_token_file = \"" + token_file + "\"\n");
  start_daemon();
  const std::vector<std::string> bearer = {"-H", "Authorization: Bearer " + token};
  for (const std::string path : {"/metrics", "/", "/reports/1", "/no-such-page"}) {
    Http h = get(path);
    EXPECT_EQ(h.status, 401) << path << ": " << h.body;
    EXPECT_EQ(get(path, {"-H", "Authorization: Bearer wrong-" + token}).status, 401) << path;
    EXPECT_EQ(get(path, {"-H", "Authorization: Bearer " + token.substr(0, token.size() - 1)}).status, 401) << path;
    EXPECT_EQ(get(path, {"-H", "Authorization: Basic " + token}).status, 401) << path;
  }
  Http www = get("/metrics", {"-D", "-"});
  EXPECT_NE(www.body.find("WWW-Authenticate: Bearer realm=\"pgdr\""), std::string::npos) << www.body;
  EXPECT_EQ(get("/metrics", bearer).status, 200);
  EXPECT_EQ(get("/", {"-H", "authorization: bearer " + token}).status, 200);
  EXPECT_EQ(get("/no-such-page", bearer).status, 404);
  // /health: its status without the token, its reasons with it.
  Http anonymous = get("/health");
  EXPECT_EQ(anonymous.status, 503);
  EXPECT_EQ(anonymous.body, "unhealthy\n");
  Http holder = get("/health", bearer);
  EXPECT_EQ(holder.status, 503);
  EXPECT_EQ(holder.body, "no snapshot in repository 'local'\n");
  EXPECT_EQ(daemon_->stop(30), 0);
  std::string log = daemon_->log();
  EXPECT_NE(log.find("a bearer token is required on every page but /health"), std::string::npos) << log;
  EXPECT_EQ(log.find(token), std::string::npos) << log;
  EXPECT_EQ(log.find(token.substr(0, 16)), std::string::npos) << log;

  // From a variable, and /health asking for it too.
  const std::string env_token = "9f8e7d6c5b4a-from-the-environment";
  configure("auth_token_env = \"PGDR_TEST_DAEMON_TOKEN\"\nhealth_auth = true\n");
  std::filesystem::remove(work_->file("daemon.log"));
  start_daemon({"PGDR_TEST_DAEMON_TOKEN=" + env_token});
  EXPECT_EQ(get("/health").status, 401);
  EXPECT_EQ(get("/metrics").status, 401);
  EXPECT_EQ(get("/health", {"-H", "Authorization: Bearer " + env_token}).status, 503);
  EXPECT_EQ(get("/metrics", {"-H", "Authorization: Bearer " + env_token}).status, 200);
  EXPECT_EQ(daemon_->stop(30), 0);
  EXPECT_EQ(daemon_->log().find(env_token), std::string::npos) << daemon_->log();
}

TEST_F(DaemonHttpTest, ATokenOrKeyFileOpenToOthersStopsTheStart) {
  const std::string token_file = work_->write_file("token", "s3cr3t-token-value\n", 0644);
  configure("auth_token_file = \"" + token_file + "\"\n");
  EXPECT_EQ(start_expecting_failure(), 2) << daemon_->log();
  EXPECT_NE(daemon_->log().find("pgdr: [daemon] auth_token_file '" + token_file +
                                "' is readable or writable by group or others (mode 0644)"),
            std::string::npos)
      << daemon_->log();
  EXPECT_NE(daemon_->log().find("HINT: chmod 600 " + token_file), std::string::npos) << daemon_->log();
  EXPECT_EQ(daemon_->log().find("s3cr3t-token-value"), std::string::npos) << daemon_->log();

  configure("auth_token_env = \"PGDR_TEST_UNSET_TOKEN\"\n");
  std::filesystem::remove(work_->file("daemon.log"));
  EXPECT_EQ(start_expecting_failure(), 2) << daemon_->log();
  EXPECT_NE(daemon_->log().find("[daemon] auth_token_env names PGDR_TEST_UNSET_TOKEN, which is not set"),
            std::string::npos)
      << daemon_->log();

  auto [cert, key_pem] = make_certificate();
  const std::string key = work_->write_file("key.pem", key_pem, 0640);
  configure("tls_cert_file = \"" + cert + "\"\ntls_key_file = \"" + key + "\"\n");
  std::filesystem::remove(work_->file("daemon.log"));
  EXPECT_EQ(start_expecting_failure(), 2) << daemon_->log();
  EXPECT_NE(daemon_->log().find("pgdr: [daemon] tls_key_file '" + key +
                                "' is readable or writable by group or others (mode 0640)"),
            std::string::npos)
      << daemon_->log();
  EXPECT_EQ(daemon_->log().find("PRIVATE KEY"), std::string::npos);
}

TEST_F(DaemonHttpTest, TlsServesPagesToAClientThatTrustsTheCertificateAndDropsSilentHandshakes) {
  auto [cert, key_pem] = make_certificate();
  const std::string key = work_->write_file("key.pem", key_pem, 0600);
  configure("tls_cert_file = \"" + cert + "\"\ntls_key_file = \"" + key + "\"\nrequest_timeout = \"2s\"\n");
  start_daemon();
  ASSERT_TRUE(base_url_.starts_with("https://")) << daemon_->log();
  Http m = get("/metrics", {"--cacert", cert});
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("\npgdr_healthy 0\n"), std::string::npos) << m.body;
  Http h = get("/health", {"--cacert", cert});
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.body, "no snapshot in repository 'local'\n");
  // Kept alive: the second page over the first one's TLS connection (curl made no new connection).
  ProcessResult both = run_process({"curl", "-sS", "--max-time", "5", "--cacert", cert, "-w",
                                    "[connects %{num_connects}]\n", base_url_ + "/health", base_url_ + "/metrics"});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_NE(both.out.find("no snapshot in repository 'local'\n[connects 1]\n"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("\npgdr_healthy 0\n"), std::string::npos) << both.out;
  EXPECT_TRUE(both.out.ends_with("[connects 0]\n")) << both.out;
  // A client that does not trust the certificate, and one speaking plain HTTP, get nothing.
  EXPECT_EQ(get("/metrics").status, 0);
  std::string plain_url = base_url_;
  plain_url.replace(0, 5, "http");
  ProcessResult plain = run_process({"curl", "-sS", "--max-time", "5", plain_url + "/metrics"});
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_EQ(plain.out.find("pgdr_"), std::string::npos);
  // A connection that never starts its handshake is closed at request_timeout.
  const auto t0 = Clock::now();
  int silent = connect_loopback(port_);
  ASSERT_GE(silent, 0);
  EXPECT_EQ(read_within(silent, 6000ms), "");
  EXPECT_GE(seconds_since(t0), 1.5);
  EXPECT_LT(seconds_since(t0), 3.5);
  ::close(silent);
  Http counted = get("/metrics", {"--cacert", cert});
  EXPECT_NE(counted.body.find("\npgdr_http_requests_timed_out_total 1\n"), std::string::npos) << counted.body;
  EXPECT_EQ(daemon_->stop(30), 0) << daemon_->log();
  EXPECT_EQ(daemon_->log().find("PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::test
