// The test harness itself: a cluster starts, answers, survives a restart and a crash, and leaves
// nothing behind however a test ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "harness/pg_cluster.h"
#include "harness/pgdr_runner.h"
#include "harness/server_user.h"
#include "harness/temp_dir.h"
#include "pg/connection.h"

namespace pgdr::test {
namespace {

bool process_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  const char state = close + 2 < line.size() ? line[close + 2] : 'X';
  return state != 'Z' && state != 'X';
}

// A major whose servers are not installed is an error that says how to install them, not a skip.
TEST(ClusterHarness, MissingMajorIsAnErrorNamingTheInstallScript) {
  PgClusterOptions o;
  o.major = 13;
  try {
    PgCluster pg(o);
    FAIL() << "a cluster of PostgreSQL 13 started";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("PostgreSQL 13 server programs are missing: "), std::string::npos) << what;
    EXPECT_NE(what.find("/13/bin/initdb"), std::string::npos) << what;
    EXPECT_NE(what.find("run .ci/deps.sh"), std::string::npos) << what;
  }
}

// An adopted data directory runs on the servers of its PG_VERSION.
TEST(ClusterHarness, AdoptedDirectoryRunsOnItsOwnMajor) {
  PgClusterOptions o;
  o.major = 17;
  o.start = false;
  PgCluster made(o);
  EXPECT_EQ(made.major(), 17);
  TempDir copy("pgdr-adopt");
  const std::string dir = copy.file("data");
  std::filesystem::copy(made.data_dir(), dir, std::filesystem::copy_options::recursive);
  PgCluster adopted(PgCluster::Adopt{dir});
  EXPECT_EQ(adopted.major(), 17);
  EXPECT_EQ(adopted.psql("SELECT current_setting('server_version_num')::int / 10000"), "17");
}

TEST(ClusterHarness, StartsCreatesTableAndCounts) {
  PgCluster pg;
  ASSERT_TRUE(pg.running());
  EXPECT_TRUE(process_alive(pg.postmaster_pid()));
  EXPECT_GT(pg.port(), 0);
  EXPECT_EQ(pg.psql("SHOW data_checksums"), "on");
  EXPECT_EQ(pg.psql("SHOW wal_level"), "replica");
  EXPECT_EQ(pg.psql("SHOW fsync"), "on");
  EXPECT_EQ(pg.psql("SHOW archive_mode"), "off");
  EXPECT_EQ(pg.psql("SHOW server_version_num").substr(0, 2), "15");

  pg.psql("CREATE TABLE items (id int PRIMARY KEY, name text);"
          "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;");
  EXPECT_EQ(pg.psql("SELECT count(*) FROM items"), "1000");
  EXPECT_EQ(pg.psql("SELECT id, name FROM items WHERE id <= 2 ORDER BY id"), "1|item 1\n2|item 2");

  // The server runs as the unprivileged user, never as root.
  EXPECT_EQ(pg.psql("SELECT pg_read_file('postmaster.pid') IS NOT NULL"), "t");
  struct stat st {};
  ASSERT_EQ(::stat(pg.data_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, server_uid());
}

TEST(ClusterHarness, LibpqConnectsWithTheConninfo) {
  PgCluster pg;
  pg::Connection conn(pg.conninfo());
  EXPECT_EQ(conn.server_version_num() / 10000, 15);
  EXPECT_EQ(conn.query("SELECT current_setting('application_name')").scalar(), "pgdr");
  EXPECT_EQ(conn.query("SELECT $1::int + $2::int", {"40", "2"}).scalar(), "42");
  try {
    conn.query("SELECT * FROM no_such_table");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::postgres);
    EXPECT_EQ(std::string(e.what()), "relation \"no_such_table\" does not exist (SQLSTATE 42P01)");
  }
}

TEST(ClusterHarness, ConnectionErrorsNeverShowThePassword) {
  PgCluster pg;
  const std::string conninfo = pg.conninfo() + " password=Sup3rSecret";
  pg::Connection ok(conninfo);  // trust: the password is ignored
  EXPECT_EQ(ok.describe().find("Sup3rSecret"), std::string::npos);

  try {
    pg::Connection bad(pg.conninfo("no_such_db") + " password=Sup3rSecret");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::postgres);
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("Sup3rSecret"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unable to connect to PostgreSQL at host=127.0.0.1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no_such_db"), std::string::npos) << msg;
  }
}

TEST(ClusterHarness, RestartAndCrashRecovery) {
  PgCluster pg;
  pg.psql("CREATE TABLE t (v int); INSERT INTO t SELECT generate_series(1, 500);");
  const pid_t first = pg.postmaster_pid();
  pg.restart();
  EXPECT_NE(pg.postmaster_pid(), first);
  EXPECT_FALSE(process_alive(first));
  EXPECT_EQ(pg.psql("SELECT count(*) FROM t"), "500");

  pg.psql("INSERT INTO t SELECT generate_series(501, 700);");
  const pid_t second = pg.postmaster_pid();
  pg.kill9();
  EXPECT_FALSE(pg.running());
  EXPECT_FALSE(process_alive(second));
  pg.start();  // crash recovery replays the committed inserts
  EXPECT_EQ(pg.psql("SELECT count(*) FROM t"), "700");
  EXPECT_NE(pg.log().find("database system was interrupted"), std::string::npos);
}

TEST(ClusterHarness, PsqlErrorsCarryStderr) {
  PgCluster pg;
  try {
    pg.psql("SELECT 1; SELECT * FROM missing_table; SELECT 2;");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing_table"), std::string::npos) << e.what();
  }
}

TEST(ClusterHarness, ArchiveCommandRunsPgdrCopy) {
  // The copied binary is reachable and runnable by the server user.
  const PgdrResult version = run_pgdr({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  struct stat st {};
  ASSERT_EQ(::stat(pgdr_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);

  TempDir scratch("pgdr-archive");
  const std::string archive = scratch.make_dir("archive");
  PgCluster::Options options;
  options.archive_command = "cp %p " + archive + "/%f";
  PgCluster pg(options);
  EXPECT_EQ(pg.psql("SHOW archive_mode"), "on");
  pg.psql("SELECT pg_switch_wal(); CREATE TABLE x (); SELECT pg_switch_wal();");
  for (int i = 0; i < 200 && pg.psql("SELECT archived_count FROM pg_stat_archiver") == "0"; ++i) {
    ::usleep(50 * 1000);
  }
  EXPECT_NE(pg.psql("SELECT archived_count FROM pg_stat_archiver"), "0");
  EXPECT_FALSE(std::filesystem::is_empty(archive));
}

TEST(ClusterHarness, TornDownWhenTheTestBodyThrows) {
  pid_t pid = 0;
  std::string dir;
  std::string data_dir;
  EXPECT_THROW(
      {
        PgCluster pg;
        pid = pg.postmaster_pid();
        dir = pg.dir();
        data_dir = pg.data_dir();
        ASSERT_TRUE(process_alive(pid));
        pg.psql("SELECT 1");
        throw std::runtime_error("the test failed here");
      },
      std::runtime_error);
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(std::filesystem::exists(data_dir));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(ClusterHarness, TornDownAfterACrashToo) {
  pid_t pid = 0;
  std::string dir;
  {
    PgCluster pg;
    pid = pg.postmaster_pid();
    dir = pg.dir();
    pg.kill9();
  }
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(ClusterHarness, ServersDieWithACrashingTestBinary) {
  // A child process stands in for a test binary that aborts with a cluster running: no destructor
  // runs, the fatal-signal path must kill the postmaster.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    try {
      PgCluster pg;
      const std::string report = std::to_string(pg.postmaster_pid()) + " " + pg.dir();
      if (::write(fds[1], report.data(), report.size()) < 0) ::_exit(3);
      ::close(fds[1]);
      std::abort();
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGABRT);

  const auto space = report.find(' ');
  ASSERT_NE(space, std::string::npos) << report;
  const pid_t postmaster = std::stoi(report.substr(0, space));
  const std::string dir = report.substr(space + 1);
  // The crash path cannot remove directories; this test does.
  std::filesystem::remove_all(dir);
  for (int i = 0; i < 500 && process_alive(postmaster); ++i) ::usleep(10 * 1000);
  EXPECT_FALSE(process_alive(postmaster));
  ::waitpid(postmaster, nullptr, WNOHANG);  // re-parented to us: reap it
}

TEST(ClusterHarness, AdoptsAnExistingDataDirectoryOnANewPort) {
  TempDir scratch("pgdr-adopt");
  std::string copy = scratch.file("copy");
  int old_port = 0;
  {
    PgCluster source;
    old_port = source.port();
    source.psql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here');");
    source.stop();
    // A cold copy, made by root: the adopting cluster must hand it to the server user.
    std::filesystem::copy(source.data_dir(), copy, std::filesystem::copy_options::recursive);
  }
  PgCluster adopted(PgCluster::Adopt{copy});
  EXPECT_EQ(adopted.data_dir(), copy);
  EXPECT_NE(adopted.port(), 0);
  (void)old_port;
  EXPECT_EQ(adopted.psql("SELECT v FROM kept"), "still here");
  EXPECT_EQ(adopted.psql("SHOW port"), std::to_string(adopted.port()));
}

TEST(ClusterHarness, AdoptRefusesWhatIsNotADataDirectory) {
  TempDir scratch("pgdr-adopt");
  EXPECT_THROW(PgCluster(PgCluster::Adopt{scratch.path()}), Error);
}

TEST(ClusterHarness, TempDirBelongsToTheServerUser) {
  std::string path;
  {
    TempDir dir("pgdr-tmp");
    path = dir.path();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, server_uid());
    const std::string f = dir.write_file("sub.txt", "hello");
    const ProcessResult r = PgCluster::run_as_server_user({"cat", f});
    EXPECT_EQ(r.out, "hello");
    const std::string sub = dir.make_dir("a/b");
    EXPECT_EQ(PgCluster::run_as_server_user({"touch", sub + "/x"}).exit_code, 0);
    EXPECT_EQ(PgCluster::run_as_server_user({"id", "-un"}).out, PgCluster::server_user() + "\n");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace pgdr::test
