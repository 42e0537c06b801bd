// pgdr check against real PostgreSQL 15 clusters: a correct setup passes, and each way of getting
// archiving wrong is its own scenario, built for real, with its exact status, message and exit
// code. The broken-archiving scenarios use --archive-timeout 10s: their archive must fail.
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

class CheckTest : public PgdrTest {
 protected:
  // A correct setup: archiving into the test's repository with the passphrase in the server's
  // environment, and an archive_timeout below the default RPO objective (1 h).
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = archiving({});
    o.settings.push_back("archive_timeout = 60");
    return o;
  }

  struct Outcome {
    int exit_code = -1;
    std::string result;
    std::map<std::string, nlohmann::json> checks;  // by name
    std::string out, err;

    std::string status(const std::string& name) const {
      auto it = checks.find(name);
      return it == checks.end() ? "<absent>" : it->second["status"].get<std::string>();
    }
    std::string message(const std::string& name) const {
      auto it = checks.find(name);
      return it == checks.end() ? "<absent>" : it->second["message"].get<std::string>();
    }
    std::string hint(const std::string& name) const {
      auto it = checks.find(name);
      return it == checks.end() ? "<absent>" : it->second["hint"].get<std::string>();
    }
  };

  Outcome check(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"check", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = pgdr(args);
    Outcome o;
    o.exit_code = r.exit_code;
    o.out = r.out;
    o.err = r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "stdout: " << r.out << "\nstderr: " << r.err;
    if (j.is_discarded()) return o;
    o.result = j["result"];
    for (const auto& c : j["checks"]) o.checks[c["name"]] = c;
    return o;
  }

  static bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
};

TEST_F(CheckTest, PassesOnACorrectSetup) {
  pgdr_ok({"init"});
  Outcome o = check();
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(o.result, "PASS");
  for (const char* name : {"connection", "server_version", "wal_level", "archive_mode", "archive_command",
                           "archive_timeout", "replication", "data_checksums", "repo 'local'", "server_programs",
                           "archiving"})
    EXPECT_EQ(o.status(name), "PASS") << name << ": " << o.message(name);
  EXPECT_TRUE(contains(o.message("server_version"), "PostgreSQL 15 is supported")) << o.out;
  EXPECT_TRUE(contains(o.message("repo 'local'"), "readable, writable, the passphrase from $PGDR_PASSPHRASE opens key slot"))
      << o.out;
  EXPECT_TRUE(contains(o.message("archiving"), "archived in every repository")) << o.out;
  // The forced segment really is in the repository, and the write probe left nothing behind.
  const std::string segment = o.message("archiving").substr(o.message("archiving").find("segment ") + 8, 24);
  EXPECT_TRUE(fs::exists(repo_dir_ + "/wal/00000001/" + segment)) << segment;
  EXPECT_TRUE(!fs::exists(repo_dir_ + "/probes") || fs::is_empty(repo_dir_ + "/probes"));

  // The text form: one line per check, then the summary.
  auto text = pgdr({"check"});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_TRUE(contains(text.out, "PASS archiving")) << text.out;
  EXPECT_TRUE(contains(text.out, "check of cluster 'test': PASS (11 PASS, 0 WARN, 0 FAIL)")) << text.out;
  EXPECT_FALSE(contains(text.out, "HINT")) << text.out;
}

class CheckWithCommandTest : public CheckTest {
 protected:
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = with_passphrase({});
    o.archive_command = command_;
    o.settings.push_back("archive_timeout = 60");
    return o;
  }
  std::string command_;
};

class CheckNotPgdrTest : public CheckWithCommandTest {
 protected:
  void SetUp() override {
    command_ = "/bin/true";
    CheckWithCommandTest::SetUp();
  }
};

TEST_F(CheckNotPgdrTest, ArchiveCommandThatDoesNotCallPgdrFails) {
  pgdr_ok({"init"});
  Outcome o = check();
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(o.result, "FAIL");
  EXPECT_EQ(o.status("archive_command"), "FAIL");
  EXPECT_EQ(o.message("archive_command"), "archive_command = '/bin/true' does not call pgdr");
  EXPECT_TRUE(contains(o.hint("archive_command"), "archive-push %p")) << o.hint("archive_command");
  // Archiving cannot be proved with it: no switch is forced, no timeout waited for.
  EXPECT_EQ(o.status("archiving"), "<absent>");
  EXPECT_EQ(o.status("repo 'local'"), "PASS") << o.message("repo 'local'");
}

class CheckMissingConfigTest : public CheckWithCommandTest {
 protected:
  void SetUp() override {
    command_ = pgdr_path() + " --config /nonexistent/pgdr.toml archive-push %p";
    CheckWithCommandTest::SetUp();
  }
};

TEST_F(CheckMissingConfigTest, ArchiveCommandNamingAMissingConfigFails) {
  pgdr_ok({"init"});
  Outcome o = check();
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(o.status("archive_command"), "FAIL");
  EXPECT_TRUE(contains(o.message("archive_command"), "names --config /nonexistent/pgdr.toml, which does not exist"))
      << o.message("archive_command");
  EXPECT_EQ(o.status("archiving"), "<absent>");
}

class CheckNoServerPassphraseTest : public CheckTest {
 protected:
  // archive_command is right, but the server's environment lacks PGDR_PASSPHRASE.
  PgClusterOptions cluster_options() override {
    PgClusterOptions o;
    o.archive_command = pgdr_path() + " --config " + work_->file("pgdr.toml") + " archive-push %p";
    o.settings.push_back("archive_timeout = 60");
    return o;
  }
};

TEST_F(CheckNoServerPassphraseTest, ArchivingFailsNamingTheArchiversFailure) {
  pgdr_ok({"init"});
  const auto start = std::chrono::steady_clock::now();
  Outcome o = check({"--archive-timeout", "10s"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(o.status("archive_command"), "PASS") << o.message("archive_command");
  EXPECT_EQ(o.status("repo 'local'"), "PASS") << o.message("repo 'local'");
  EXPECT_EQ(o.status("archiving"), "FAIL");
  const std::string m = o.message("archiving");
  EXPECT_TRUE(contains(m, "not in repository 'local' after 10s")) << m;
  EXPECT_TRUE(contains(m, "pg_stat_archiver: archiving 0000000100000000000000")) << m;
  EXPECT_TRUE(contains(m, " failed at ")) << m;
  EXPECT_TRUE(contains(o.hint("archiving"), "passphrase source")) << o.hint("archiving");
  EXPECT_LT(took, std::chrono::seconds(30));
}

TEST_F(CheckTest, UnwritableRepositoryFails) {
  pgdr_ok({"init"});
  // pgdr runs as the server user (also when the tests run as root), so the mode bits bind it.
  ASSERT_EQ(chmod(repo_dir_.c_str(), 0500), 0);
  Outcome o = check({"--archive-timeout", "10s"});
  chmod(repo_dir_.c_str(), 0700);
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(o.status("repo 'local'"), "FAIL");
  EXPECT_TRUE(contains(o.message("repo 'local'"), "unable to write to it: ")) << o.message("repo 'local'");
  EXPECT_TRUE(contains(o.message("repo 'local'"), "Permission denied")) << o.message("repo 'local'");
  EXPECT_TRUE(contains(o.hint("repo 'local'"), "writable")) << o.hint("repo 'local'");
  // archive-push cannot write either: the forced segment never arrives.
  EXPECT_EQ(o.status("archiving"), "FAIL") << o.message("archiving");
}

class CheckArchiveModeOffTest : public CheckTest {
 protected:
  PgClusterOptions cluster_options() override { return with_passphrase({}); }
};

TEST_F(CheckArchiveModeOffTest, ArchiveModeOffFails) {
  pgdr_ok({"init"});
  Outcome o = check();
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(o.status("archive_mode"), "FAIL");
  EXPECT_EQ(o.message("archive_mode"), "archive_mode = off: no WAL is archived");
  EXPECT_TRUE(contains(o.hint("archive_mode"), "archive_mode = on")) << o.hint("archive_mode");
  EXPECT_EQ(o.status("archiving"), "<absent>");
  // No archive_timeout configured: WARN, not FAIL.
  EXPECT_EQ(o.status("archive_timeout"), "WARN");
}

class CheckWalLevelMinimalTest : public CheckTest {
 protected:
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = with_passphrase({});
    o.settings = {"wal_level = minimal", "max_wal_senders = 0"};
    return o;
  }
};

TEST_F(CheckWalLevelMinimalTest, WalLevelMinimalFails) {
  pgdr_ok({"init"});
  Outcome o = check();
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(o.status("wal_level"), "FAIL");
  EXPECT_EQ(o.message("wal_level"), "wal_level = minimal: the WAL cannot rebuild the cluster from a snapshot");
  EXPECT_EQ(o.status("replication"), "WARN");
  EXPECT_TRUE(contains(o.message("replication"), "max_wal_senders = 0")) << o.message("replication");
}

class CheckOtherClusterConfigTest : public CheckTest {
 protected:
  // archive_command names a configuration that exists but describes another cluster.
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = with_passphrase({});
    o.archive_command = pgdr_path() + " --config " + work_->file("other.toml") + " archive-push %p";
    return o;
  }
};

TEST_F(CheckOtherClusterConfigTest, ArchiveCommandConfigOfAnotherClusterFails) {
  pgdr_ok({"init"});
  work_->write_file("other.toml", "[cluster]\nname = \"other\"\npgdata = \"/srv/other\"\n" + repo_toml() +
                                      "[key]\npassphrase_env = \"PGDR_PASSPHRASE\"\n");
  Outcome o = check();
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_EQ(o.status("archive_command"), "FAIL");
  EXPECT_EQ(o.message("archive_command"), "archive_command names --config " + work_->file("other.toml") +
                                              ", whose [cluster] name 'other' is not 'test'");
  EXPECT_EQ(o.status("archiving"), "<absent>");
}

class CheckRpoTest : public CheckTest {
 protected:
  void SetUp() override {
    CheckTest::SetUp();
    write_config("[objectives]\nrpo = \"30s\"\n");
  }
};

TEST_F(CheckRpoTest, ArchiveTimeoutAboveTheRpoObjectiveWarns) {
  pgdr_ok({"init"});
  Outcome o = check();
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_EQ(o.result, "WARN");
  EXPECT_EQ(o.status("archive_timeout"), "WARN");
  EXPECT_EQ(o.message("archive_timeout"), "archive_timeout = 1m is above the RPO objective 30s");
  EXPECT_EQ(o.status("archiving"), "PASS") << o.message("archiving");
}

TEST_F(CheckTest, CannotRunWithoutAConfiguration) {
  auto r = run_pgdr({"--config", work_->file("absent.toml"), "check"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "pgdr: ")) << r.err;
}

}  // namespace
}  // namespace pgdr::test
