// pgdr archive-agent against a real archiving server: archive_command and restore_command go
// through the agent; killing it mid-push loses nothing (archive-push falls back); a socket of
// another user or open to others is refused and archiving still succeeds; the agent cannot dump
// core, cannot be read through /proc by its own user, and leaves no file but its socket.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/background_process.h"
#include "wal_archive_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

class ArchiveAgentTest : public WalArchiveTest {
 protected:
  PgClusterOptions cluster_options() override {
    auto o = archiving({});
    // -v: each call logs whether it went through the agent.
    o.archive_command = pgdr_path() + " -v --config " + work_->file("pgdr.toml") + " archive-push --parallel 4 %p";
    return o;
  }
  void SetUp() override {
    WalArchiveTest::SetUp();
    socket_dir_ = work_->make_dir("agent", 0700);
    socket_ = socket_dir_ + "/agent.sock";
    write_config("[archive]\nagent_socket = \"" + socket_ + "\"\n");
  }
  void TearDown() override {
    agent_.reset();
    WalArchiveTest::TearDown();
  }

  void start_agent(std::vector<std::string> env = {}) {
    env.push_back(std::string("PGDR_PASSPHRASE=") + kPassphrase);
    env.push_back("PGDR_CATALOG=" + work_->file("catalog.db"));
    agent_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{pgdr_path(), "-v", "--config", config_, "archive-agent"}, env,
        work_->file("agent-" + std::to_string(++agents_) + ".log"));
    for (int i = 0; i < 300 && !fs::exists(socket_); ++i) {
      ASSERT_TRUE(agent_->running()) << agent_->log();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(fs::exists(socket_)) << agent_->log();
  }

  static std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  // A real segment, not archived yet (archive-push stores nothing else), copied where a test
  // can push it by hand.
  std::string segment_copy() {
    const std::string name = cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
    return work_->write_file(name, read_whole(cluster_->data_dir() + "/pg_wal/" + name), 0600);
  }

  std::string socket_dir_, socket_;
  std::unique_ptr<BackgroundProcess> agent_;
  int agents_ = 0;
};

TEST_F(ArchiveAgentTest, ArchiveCommandAndRestoreCommandGoThroughTheAgent) {
  pgdr_ok({"init"});
  start_agent();
  cluster_->psql("CREATE TABLE t (v text)");
  backup();
  for (int i = 0; i < 6; ++i) {
    cluster_->psql("INSERT INTO t SELECT md5(g::text) FROM generate_series(1, 2000) g");
    cluster_->psql("SELECT pg_switch_wal()");
  }
  archive_now(*cluster_);
  EXPECT_EQ(cluster_->psql("SELECT failed_count FROM pg_stat_archiver"), "0");
  EXPECT_GE(count(cluster_->log(), "archived via the archive agent"), 4u) << cluster_->log();
  EXPECT_EQ(count(cluster_->log(), "working without it"), 0u) << cluster_->log();
  EXPECT_GE(count(agent_->log(), "archived /"), 6u) << agent_->log();
  std::string source = cluster_->psql("SELECT count(*) FROM t");
  cluster_->kill9();
  EXPECT_EQ(restore_and_query({}, "SELECT count(*) FROM t"), source);
  EXPECT_GE(count(agent_->log(), "served "), 3u) << agent_->log();
  EXPECT_EQ(agent_->stop(), 0) << agent_->log();
  EXPECT_NE(agent_->log().find("archive agent stopped after"), std::string::npos) << agent_->log();
  EXPECT_FALSE(fs::exists(socket_));
}

TEST_F(ArchiveAgentTest, AgentKilledMidPushLosesNoSegment) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t (v text)");
  backup();
  // The agent dies by SIGKILL in its first push, after the segment is stored and before its summary.
  start_agent({"PGDR_TEST_KILL_AT=archive-push-before-summary"});
  for (int i = 0; i < 10; ++i) {
    cluster_->psql("INSERT INTO t SELECT md5(g::text) FROM generate_series(1, 2000) g");
    cluster_->psql("SELECT pg_switch_wal()");
  }
  archive_now(*cluster_);
  EXPECT_FALSE(agent_->running());
  EXPECT_NE(cluster_->log().find("did not answer"), std::string::npos) << cluster_->log();
  EXPECT_NE(cluster_->log().find("working without it"), std::string::npos) << cluster_->log();
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto tl = info["repositories"][0]["wal_archive"]["timelines"][0];
  EXPECT_TRUE(tl["gaps"].empty()) << tl.dump();
  EXPECT_GE(tl["segments"].get<int>(), 10);
  // Every archived segment still in pg_wal is byte-equal to what the repository serves.
  int compared = 0;
  for (const auto& o : wal_objects()) {
    const std::string name = fs::path(o).filename().string().substr(0, 24);
    const std::string local = cluster_->data_dir() + "/pg_wal/" + name;
    if (name.size() != 24 || !fs::exists(local)) continue;
    const std::string dest = work_->file("fetched");
    fs::remove(dest);
    auto r = pgdr({"archive-get", "--prefetch", "0", name, dest});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_EQ(read_whole(dest), read_whole(local)) << name;
    ++compared;
  }
  EXPECT_GE(compared, 5);
  std::string source = cluster_->psql("SELECT count(*) FROM t");
  cluster_->kill9();
  EXPECT_EQ(restore_and_query({}, "SELECT count(*) FROM t"), source);
}

TEST_F(ArchiveAgentTest, SocketOfAnotherUserOrOpenToOthersIsRefused) {
  pgdr_ok({"init"});
  start_agent();
  const std::string seg = segment_copy();
  auto through = pgdr({"-v", "archive-push", seg});
  ASSERT_EQ(through.exit_code, 0) << through.err;
  EXPECT_NE(through.err.find("archived via the archive agent"), std::string::npos) << through.err;
  const std::size_t served = count(agent_->log(), "archived /");
  for (mode_t mode : {0660, 0666}) {
    ASSERT_EQ(chmod(socket_.c_str(), mode), 0);
    auto r = pgdr({"archive-push", seg});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    char octal[8];
    snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    EXPECT_NE(r.err.find("refusing the archive agent socket " + socket_ + ": its mode is " + octal +
                         ", wider than 0600"),
              std::string::npos)
        << r.err;
  }
  ASSERT_EQ(chmod(socket_.c_str(), 0600), 0);
  if (running_as_root()) {
    ASSERT_EQ(chown(socket_.c_str(), 65534, 65534), 0);  // nobody
    auto r = pgdr({"archive-push", seg});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("refusing the archive agent socket " + socket_ + ": it is owned by uid 65534"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(count(agent_->log(), "archived /"), served) << agent_->log();
}

// A repository deleted and initialised again while the agent runs has a new key: the agent must not
// push with the old one (WAL nobody could read); archive-push then works alone, with the new key.
TEST_F(ArchiveAgentTest, ARepositoryCreatedAgainIsNotPushedToWithTheOldKey) {
  pgdr_ok({"init"});
  start_agent();
  fs::remove_all(repo_dir_);
  pgdr_ok({"init"});
  const std::string seg = segment_copy();
  auto r = pgdr({"-v", "archive-push", seg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("archived via the archive agent"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("repository 'local' was created again since it opened it (restart the agent)"),
            std::string::npos)
      << r.err;
  const std::string name = fs::path(seg).filename();
  auto got = pgdr({"archive-get", name, work_->file("fetched")});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(read_whole(work_->file("fetched")), read_whole(seg));
}

TEST_F(ArchiveAgentTest, AgentCannotDumpCoreAndKeepsNoKeyOnDisk) {
  pgdr_ok({"init"});
  start_agent();
  const std::string proc = "/proc/" + std::to_string(agent_->pid());
  std::ifstream limits(proc + "/limits");
  std::string line, core;
  while (std::getline(limits, line))
    if (line.starts_with("Max core file size")) core = line;
  EXPECT_NE(core.find(" 0 "), std::string::npos) << core;
  EXPECT_EQ(core.find("unlimited"), std::string::npos) << core;
  // Not dumpable: the kernel gives its /proc files to root and refuses its own user their memory
  // and environment.
  struct stat st {};
  ASSERT_EQ(stat((proc + "/environ").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  if (running_as_root()) {
    auto environ = run_as_server_user({"cat", proc + "/environ"});
    EXPECT_NE(environ.exit_code, 0) << environ.out;
    EXPECT_EQ(environ.out.find("PGDR_PASSPHRASE"), std::string::npos);
  }
  // Archiving works, and the socket's directory holds the socket alone.
  auto r = pgdr({"archive-push", segment_copy()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(socket_dir_)) entries.push_back(e.path());
  EXPECT_EQ(entries, std::vector<std::string>{socket_});
  struct stat sock {};
  ASSERT_EQ(lstat(socket_.c_str(), &sock), 0);
  EXPECT_TRUE(S_ISSOCK(sock.st_mode));
  EXPECT_EQ(sock.st_mode & 07777, 0600u);
  EXPECT_EQ(sock.st_uid, server_uid());
}

}  // namespace
}  // namespace pgdr::test
