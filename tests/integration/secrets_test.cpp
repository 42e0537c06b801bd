// No secret of the configuration reaches any output. A configuration holds one of each kind (a
// webhook token in a path after a hook prefix, one in a long mixed path segment, one in a query,
// an SMTP password in a URL, a passphrase command's secret, a conninfo password); a verify fails
// and alerts to an unreachable webhook and SMTP server; `pgdr report` writes the dashboard (the
// daemon's pages, rendered by the same code). Every output is scanned for every secret: stdout and
// stderr of each command (at debug level), the log file of `[log] file`, the verify report, the
// catalog (its rows as SQL text and its raw bytes), the dashboard and the reports it links to.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "core/subprocess.h"
#include "harness/background_process.h"
#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::string> kSecrets = {
    {"webhook path token", "PathTok3nSecretAAA"},
    {"webhook long segment", "a1b2c3d4e5f6g7h8i9j0"},
    {"webhook query token", "qrySecret7788"},
    {"SMTP password", "SmtpPw-secret-5521"},
    {"passphrase", "pass-phrase-secret-4417"},
    {"conninfo password", "conn-secret-9931"},
};

class SecretsTest : public PgdrTest {
 protected:
  void write_secret_config() {
    config_ = work_->write_file(
        "pgdr.toml",
        "[cluster]\nname = \"test\"\npgdata = \"" + cluster_->data_dir() + "\"\nconninfo = \"" + cluster_->conninfo() +
            " password=" + kSecrets.at("conninfo password") + "\"\n" + repo_toml() +
            "[key]\npassphrase_command = \"printf %s " + kSecrets.at("passphrase") + "\"\n" +
            "[catalog]\npath = \"" + work_->file("catalog.db") + "\"\n" +
            "[alerts]\nsmtp_url = \"smtp://alerts:" + kSecrets.at("SMTP password") + "@127.0.0.1:1\"\n" +
            "from = \"pgdr@shop.example\"\nto = \"dba@shop.example\"\ntimeout = \"5s\"\n" +
            "webhook_urls = [\"http://127.0.0.1:1/services/T000/B000/" + kSecrets.at("webhook path token") +
            "?token=" + kSecrets.at("webhook query token") + "\", \"http://127.0.0.1:1/notify/" +
            kSecrets.at("webhook long segment") + "\"]\n" + "[daemon]\nlisten = \"127.0.0.1:0\"\n" +
            "[log]\nlevel = \"debug\"\nfile = \"" + work_->file("pgdr.log") + "\"\n",
        0644);
  }

  // Every secret found in text, as "what (where)".
  static std::vector<std::string> leaks(const std::string& where, const std::string& text) {
    std::vector<std::string> found;
    for (const auto& [what, secret] : kSecrets)
      if (text.find(secret) != std::string::npos) found.push_back(what + " (" + where + ")");
    return found;
  }
};

TEST_F(SecretsTest, NoSecretReachesAnyOutput) {
  write_secret_config();
  std::vector<std::pair<std::string, std::string>> outputs;  // where, text
  auto run = [&](const std::vector<std::string>& args, int expected_exit) {
    auto r = pgdr(args);
    EXPECT_EQ(r.exit_code, expected_exit) << testing::PrintToString(args) << "\n" << r.err;
    outputs.emplace_back("stdout of " + args[0], r.out);
    outputs.emplace_back("stderr of " + args[0], r.err);
    return r;
  };
  run({"init"}, 0);
  run({"backup"}, 0);
  // A damaged pack fails the verify, which alerts.
  std::string pack;
  for (const auto& e : fs::recursive_directory_iterator(repo_dir_ + "/packs"))
    if (e.is_regular_file()) pack = e.path();
  ASSERT_FALSE(pack.empty());
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(pack) / 2));
    f.put('\x5a');
  }
  const std::string report = work_->file("verify.json");
  auto verify = run({"verify", "--full", "--report", report}, 2);
  // Both channels were tried and failed, named by their redacted URLs.
  EXPECT_NE(verify.err.find("pgdr: warning: alert by webhook http://127.0.0.1:1/services/***/***/***?token=*** failed: "),
            std::string::npos)
      << verify.err;
  EXPECT_NE(verify.err.find("pgdr: warning: alert by webhook http://127.0.0.1:1/notify/*** failed: "), std::string::npos)
      << verify.err;
  EXPECT_NE(verify.err.find("pgdr: warning: alert by smtp smtp://127.0.0.1:1 failed: "), std::string::npos) << verify.err;
  // The configuration file is readable by others and holds secrets: said once per command.
  EXPECT_NE(verify.err.find("pgdr: warning: configuration file " + config_ +
                            " (mode 0644) is readable by group or others and holds a secret in [cluster] conninfo, "
                            "[alerts] smtp_url, [alerts] webhook_urls (chmod 600 it)\n"),
            std::string::npos)
      << verify.err;
  outputs.emplace_back("verify report", read_whole(report));

  const std::string html = work_->file("dashboard/index.html");
  give_to_server_user(work_->make_dir("dashboard"));
  run({"report", "--html", html}, 0);
  for (const auto& e : fs::recursive_directory_iterator(work_->file("dashboard")))
    if (e.is_regular_file()) outputs.emplace_back(e.path().string(), read_whole(e.path()));

  // The daemon's pages and log, as a scraper and a browser see them after the failing run.
  {
    BackgroundProcess daemon({pgdr_path(), "--config", config_, "daemon"}, {}, work_->file("daemon.log"));
    static const std::regex listening(R"(listening on (http://127\.0\.0\.1:\d+)/)");
    std::string base;
    for (int i = 0; i < 300 && base.empty(); ++i) {
      std::smatch m;
      const std::string log = daemon.log();
      if (std::regex_search(log, m, listening)) base = m[1].str();
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ASSERT_TRUE(daemon.running()) << log;
    }
    ASSERT_FALSE(base.empty()) << daemon.log();
    std::vector<std::string> pages = {"/", "/metrics", "/health"};
    auto ids = run_process({"sqlite3", work_->file("catalog.db"), "SELECT id FROM runs"});
    std::istringstream id_lines(ids.out);
    for (std::string id; std::getline(id_lines, id);)
      if (!id.empty()) pages.push_back("/reports/" + id);
    EXPECT_GT(pages.size(), 3u) << "no catalog run to fetch: " << ids.err;
    for (const auto& page : pages) {
      auto got = run_process({"curl", "-sS", "--max-time", "10", base + page});
      EXPECT_EQ(got.exit_code, 0) << page << ": " << got.err;
      EXPECT_FALSE(got.out.empty()) << page;
      outputs.emplace_back("daemon page " + page, got.out);
    }
    daemon.stop();
    outputs.emplace_back("daemon log", daemon.log());
  }

  // The log file at debug level, of every command above and of the daemon's jobs. It holds what
  // the scan is for: debug lines, the configuration's mode warning (logged before the file was
  // known) and the error lines of the failing verify's alerts.
  const std::string log = read_whole(work_->file("pgdr.log"));
  EXPECT_NE(log.find(" DEBUG backup cluster=test: opening repository 'local' at local directory " + repo_dir_ +
                     " with the key from passphrase_command\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" WARN init cluster=test: configuration file " + config_ + " (mode 0644) is readable"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" WARN verify cluster=test: alert by smtp smtp://127.0.0.1:1 failed: "), std::string::npos) << log;
  outputs.emplace_back("log file", log);

  for (const auto& e : fs::directory_iterator(work_->path()))
    if (e.is_regular_file() && e.path().filename().string().starts_with("catalog.db"))
      outputs.emplace_back(e.path().string(), read_whole(e.path()));
  auto dump = run_process({"sqlite3", work_->file("catalog.db"), ".dump"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_NE(dump.out.find("INSERT INTO"), std::string::npos) << "the catalog holds no row to scan";
  outputs.emplace_back("catalog rows", dump.out);

  std::vector<std::string> found;
  for (const auto& [where, text] : outputs)
    for (auto& l : leaks(where, text)) found.push_back(l);
  EXPECT_TRUE(found.empty()) << testing::PrintToString(found);
  // The scan itself finds what is there: the configuration holds every secret.
  EXPECT_EQ(leaks("config", read_whole(config_)).size(), kSecrets.size());
}

// A configuration without secrets, or one only its owner can read, gets no warning.
TEST_F(SecretsTest, NoWarningForAPrivateFileOrOneWithoutSecrets) {
  write_secret_config();
  ASSERT_EQ(chmod(config_.c_str(), 0600), 0);
  auto r = pgdr({"init"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("configuration file"), std::string::npos) << r.err;
  write_config();  // the fixture's: no secret, mode 0644
  auto plain = pgdr({"info"});
  EXPECT_EQ(plain.err.find("configuration file"), std::string::npos) << plain.err;
}

}  // namespace
}  // namespace pgdr::test
