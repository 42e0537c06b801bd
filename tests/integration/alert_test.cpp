// Alerts from a failing verify reach a real SMTP server (aiosmtpd, as a mail sink) and a real HTTP
// receiver: exactly one message per run carrying the findings, and a channel that cannot be
// reached is reported without stopping the run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "verify_support.h"

extern char** environ;

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

// A free TCP port on 127.0.0.1 (bound and released: another process could take it first, which
// would fail the test loudly, not silently).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool accepting(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// A server process for one test: started, waited for, killed and reaped on destruction.
class Server {
 public:
  Server(const std::vector<std::string>& argv, int port) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) pid_ = 0;
    for (int i = 0; i < 200 && pid_ > 0 && !accepting(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready_ = pid_ > 0 && accepting(port);
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  bool ready() const { return ready_; }

 private:
  pid_t pid_ = 0;
  bool ready_ = false;
};

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() != ".tmp") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AlertTest : public VerifyFixture {};

TEST_F(AlertTest, FailingRunSendsOneMailAndOneWebhookWithTheFindings) {
  int smtp_port = free_port();
  int http_port = free_port();
  int dead_port = free_port();  // nothing listens here
  std::string maildir = work_->file("mail");
  std::string hooks = work_->make_dir("hooks");
  // Debian's interpreter, where python3-aiosmtpd is installed (another python3 may come first on PATH).
  Server smtp({"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(smtp_port), "-c",
               "aiosmtpd.handlers.Mailbox", maildir},
              smtp_port);
  ASSERT_TRUE(smtp.ready()) << "aiosmtpd did not start (is python3-aiosmtpd installed?)";
  Server http({"python3", std::string(PGDR_SOURCE_DIR) + "/tests/integration/tools/http_sink.py",
               std::to_string(http_port), hooks},
              http_port);
  ASSERT_TRUE(http.ready());
  write_verify_config("[alerts]\nsmtp_url = \"smtp://127.0.0.1:" + std::to_string(smtp_port) +
                      "\"\nfrom = \"pgdr@shop.example\"\nto = [\"dba@shop.example\", \"oncall@shop.example\"]\n"
                      "webhook_urls = [\"http://127.0.0.1:" + std::to_string(http_port) + "/pgdr\", \"http://127.0.0.1:" +
                      std::to_string(dead_port) + "/down\"]\ntimeout = \"5s\"\n");
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 50000) g");
  std::string snap = backup();
  archive_now();
  std::string pack = packs().front();
  flip_byte(pack, fs::file_size(pack) / 2);
  std::string object = pack.substr(repo_dir_.size() + 1);

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  EXPECT_EQ(schema_errors(), "");
  // The dead webhook is reported, in the report and on stderr, and did not stop the others.
  auto alerts = v.report["alerts"];
  ASSERT_EQ(alerts.size(), 3u) << alerts.dump(2);
  EXPECT_EQ(alerts[0]["channel"], "smtp smtp://127.0.0.1:" + std::to_string(smtp_port));
  EXPECT_EQ(alerts[0]["sent"], true) << alerts.dump(2);
  EXPECT_EQ(alerts[1]["sent"], true) << alerts.dump(2);
  EXPECT_EQ(alerts[2]["sent"], false);
  EXPECT_FALSE(alerts[2]["error"].get<std::string>().empty());
  EXPECT_TRUE(has(v.run.err, "alert by webhook http://127.0.0.1:" + std::to_string(dead_port) + "/down failed")) << v.run.err;

  // Exactly one mail, to both recipients (aiosmtpd's Mailbox stores one copy per message).
  std::vector<std::string> mails;
  for (int i = 0; i < 50 && (mails = files_in(maildir + "/new")).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(mails.size(), 1u);
  std::string mail = slurp(mails[0]);
  EXPECT_TRUE(has(mail, "Subject: pgdr verify FAIL: cluster 'test', repository 'local'")) << mail;
  EXPECT_TRUE(has(mail, "To: dba@shop.example, oncall@shop.example")) << mail;
  EXPECT_TRUE(has(mail, "[critical] corrupt pack " + object)) << mail;
  EXPECT_TRUE(has(mail, "affects snapshot " + snap)) << mail;
  EXPECT_FALSE(has(mail, kPassphrase));

  auto posts = files_in(hooks);
  ASSERT_EQ(posts.size(), 1u);
  auto hook = nlohmann::json::parse(slurp(posts[0]));
  EXPECT_EQ(hook["source"], "pgdr");
  EXPECT_EQ(hook["report"]["result"], "FAIL");
  ASSERT_FALSE(hook["findings"].empty());
  EXPECT_EQ(hook["findings"][0]["severity"], "critical");
  EXPECT_TRUE(has(hook["findings"][0]["message"], object)) << hook.dump(2);
}

TEST_F(AlertTest, PassingRunSendsNothing) {
  int http_port = free_port();
  std::string hooks = work_->make_dir("hooks");
  Server http({"python3", std::string(PGDR_SOURCE_DIR) + "/tests/integration/tools/http_sink.py",
               std::to_string(http_port), hooks},
              http_port);
  ASSERT_TRUE(http.ready());
  write_verify_config("[alerts]\nwebhook_urls = [\"http://127.0.0.1:" + std::to_string(http_port) + "/pgdr\"]\n");
  pgdr_ok({"init"});
  backup();
  archive_now();
  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 0) << v.run.out << v.run.err;
  EXPECT_TRUE(v.report["alerts"].empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(files_in(hooks).empty());
}

TEST_F(AlertTest, MailGoesThroughStartTlsWithAuthenticationAndABadPasswordIsReported) {
  // A self-signed certificate for 127.0.0.1, trusted through [alerts] ca_file.
  std::string cert = work_->file("smtp-cert.pem"), key = work_->file("smtp-key.pem");
  auto gen = run_process({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                          "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ASSERT_EQ(chmod(cert.c_str(), 0644), 0);
  const std::string smtp_password = "mail-pass-81c2-do-not-print";
  int port = free_port();
  std::string mails = work_->file("tls-mail");
  Server smtp({"/usr/bin/python3", std::string(PGDR_SOURCE_DIR) + "/tests/integration/tools/smtp_sink.py",
               std::to_string(port), mails, cert, key, "pgdr-alerts", smtp_password},
              port);
  ASSERT_TRUE(smtp.ready());
  write_verify_config("[alerts]\nsmtp_url = \"smtp://127.0.0.1:" + std::to_string(port) +
                      "\"\nstarttls = true\nsmtp_user = \"pgdr-alerts\"\nsmtp_password_env = \"PGDR_SMTP_PASSWORD\"\n"
                      "ca_file = \"" + cert + "\"\nfrom = \"pgdr@shop.example\"\nto = \"dba@shop.example\"\ntimeout = \"10s\"\n");
  pgdr_ok({"init"});
  backup();
  // A failing run: the key check fails (wrong passphrase).
  auto v = verify({}, {"PGDR_PASSPHRASE=wrong-one", "PGDR_SMTP_PASSWORD=" + smtp_password});
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  ASSERT_EQ(v.report["alerts"].size(), 1u) << v.report.dump(2);
  EXPECT_EQ(v.report["alerts"][0]["sent"], true) << v.report["alerts"].dump(2);
  std::vector<std::string> got;
  for (int i = 0; i < 50 && (got = files_in(mails)).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(got.size(), 1u);
  std::string mail = slurp(got[0]);
  EXPECT_TRUE(has(mail, "X-Sink-TLS: yes")) << mail;
  EXPECT_TRUE(has(mail, "X-Sink-Login: pgdr-alerts")) << mail;
  EXPECT_TRUE(has(mail, "X-Sink-To: dba@shop.example")) << mail;
  EXPECT_TRUE(has(mail, "[critical] key check failed for repository 'local'")) << mail;
  for (const auto& text : {v.run.out, v.run.err, v.report.dump(), mail}) EXPECT_FALSE(has(text, smtp_password));

  // The wrong SMTP password: the channel fails, is reported, and the run still ends with its own verdict.
  auto bad = verify({}, {"PGDR_PASSPHRASE=wrong-one", "PGDR_SMTP_PASSWORD=not-it"});
  EXPECT_EQ(bad.run.exit_code, 2) << bad.run.out << bad.run.err;
  ASSERT_EQ(bad.report["alerts"].size(), 1u);
  EXPECT_EQ(bad.report["alerts"][0]["sent"], false);
  EXPECT_FALSE(bad.report["alerts"][0]["error"].get<std::string>().empty());
  EXPECT_TRUE(has(bad.run.err, "pgdr: warning: alert by smtp smtp://127.0.0.1:" + std::to_string(port) + " failed: "))
      << bad.run.err;
  EXPECT_FALSE(has(bad.run.err + bad.report.dump(), "not-it"));
  EXPECT_EQ(files_in(mails).size(), 1u);
}

TEST_F(AlertTest, DrillBreachingItsObjectiveAndMeasureSendAWebhookEach) {
  int http_port = free_port();
  std::string hooks = work_->make_dir("hooks");
  Server http({"python3", std::string(PGDR_SOURCE_DIR) + "/tests/integration/tools/http_sink.py",
               std::to_string(http_port), hooks},
              http_port);
  ASSERT_TRUE(http.ready());
  write_verify_config("[drill]\ndr_path = \"" + work_->make_dir("dr", 0755) + "\"\n[objectives]\nrto = \"50ms\"\n" +
                      "[alerts]\nwebhook_urls = [\"http://127.0.0.1:" + std::to_string(http_port) + "/pgdr\"]\n");
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  backup();
  archive_now();
  auto d = pgdr({"drill"});
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  auto posts = files_in(hooks);
  ASSERT_EQ(posts.size(), 1u);
  auto hook = nlohmann::json::parse(slurp(posts[0]));
  EXPECT_EQ(hook["report"]["kind"], "drill");
  EXPECT_EQ(hook["report"]["result"], "FAIL");
  bool breach = false;
  for (const auto& f : hook["findings"]) breach |= has(f["message"].get<std::string>(), "RTO") && f["severity"] == "alert";
  EXPECT_TRUE(breach) << hook.dump(2);

  // measure judges the RTO of that drill against the same objective: one more message.
  auto m = pgdr({"measure"});
  EXPECT_EQ(m.exit_code, 2) << m.out << m.err;
  EXPECT_EQ(files_in(hooks).size(), 2u);
}

}  // namespace
}  // namespace pgdr::test
