// The log of every command: [log] file gets timestamped lines naming level, command, cluster and
// pid, in a file of mode 0600; -q and -v move the threshold over the configuration's; archive-push
// run by PostgreSQL writes there; [log] syslog reaches a datagram socket standing in for /dev/log.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

#include "wal_archive_fixture.h"

namespace pgdr::test {
namespace {

// "2026-12-06T05:30:17.123Z [4242] LEVEL COMMAND cluster=test: "
const std::string kStamp = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[\d+\] )";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The lines of text that match pattern whole.
std::vector<std::string> matching(const std::string& text, const std::string& pattern) {
  std::vector<std::string> out;
  const std::regex re(pattern);
  for (const auto& l : lines_of(text))
    if (std::regex_match(l, re)) out.push_back(l);
  return out;
}

class LogTest : public PgdrTest {
 protected:
  std::string log_file() const { return work_->file("pgdr.log"); }
  void write_log_config(const std::string& log_section) { write_config("[log]\n" + log_section); }
};

TEST_F(LogTest, FileLinesCarryTimeLevelCommandClusterAndPid) {
  write_log_config("file = \"" + log_file() + "\"\nlevel = \"debug\"\n");
  auto missing = pgdr({"info"});  // before init: an error with a hint
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  pgdr_ok({"init"});
  const std::string text = read_whole(log_file());
  EXPECT_FALSE(text.empty());
  // Every line has the full prefix, and the file holds nothing else.
  for (const auto& l : lines_of(text))
    EXPECT_TRUE(std::regex_match(l, std::regex(kStamp + "(ERROR|WARN|INFO|DEBUG) (init|info) cluster=test: .+"))) << l;
  EXPECT_EQ(matching(text, kStamp + "DEBUG init cluster=test: configuration read from " + config_).size(), 1u) << text;
  EXPECT_EQ(matching(text, kStamp + "DEBUG info cluster=test: configuration read from " + config_).size(), 1u) << text;
  // The error that ended info, with its hint, which stderr shows on two lines.
  EXPECT_EQ(matching(text, kStamp + "ERROR info cluster=test: no repository 'local' at local directory " + repo_dir_ +
                               " \\(pgdr.repo missing\\); HINT: create it with 'pgdr init'")
                .size(),
            1u)
      << text << "\nstderr: " << missing.err;
  EXPECT_NE(missing.err.find("pgdr: no repository 'local' at local directory " + repo_dir_ +
                             " (pgdr.repo missing)\nHINT: create it with 'pgdr init'\n"),
            std::string::npos)
      << missing.err;
  // Each process's own pid: two commands, two pids.
  std::set<std::string> pids;
  for (const auto& l : lines_of(text)) pids.insert(l.substr(l.find('[') + 1, l.find(']') - l.find('[') - 1));
  EXPECT_EQ(pids.size(), 2u) << text;

  struct stat st {};
  ASSERT_EQ(stat(log_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, server_uid());  // pgdr ran as the server user, who created it
}

TEST_F(LogTest, QuietHidesInfoAndVerboseShowsDebug) {
  write_log_config("file = \"" + log_file() + "\"\n");  // level info
  pgdr_ok({"init"});
  auto quiet = pgdr({"-q", "backup"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("pgdr: snapshot "), std::string::npos) << quiet.err;
  EXPECT_EQ(read_whole(log_file()).find(" INFO "), std::string::npos) << read_whole(log_file());

  auto normal = pgdr({"backup"});
  ASSERT_EQ(normal.exit_code, 0) << normal.err;
  EXPECT_NE(normal.err.find("pgdr: snapshot "), std::string::npos) << normal.err;
  EXPECT_EQ(normal.err.find("pgdr: debug: "), std::string::npos) << normal.err;
  EXPECT_EQ(matching(read_whole(log_file()), kStamp + "INFO backup cluster=test: snapshot .+").size(), 1u)
      << read_whole(log_file());
  EXPECT_EQ(read_whole(log_file()).find(" DEBUG "), std::string::npos);

  auto verbose = pgdr({"info", "-v"});
  ASSERT_EQ(verbose.exit_code, 0) << verbose.err;
  EXPECT_NE(verbose.err.find("pgdr: debug: configuration read from " + config_ + "\n"), std::string::npos)
      << verbose.err;
  EXPECT_EQ(matching(read_whole(log_file()), kStamp + "DEBUG info cluster=test: opening repository 'local' .+").size(),
            1u);

  // Which snapshot restore chose, and from where.
  std::string newest = normal.out.substr(0, normal.out.find('\n'));
  auto restore = pgdr({"-v", "restore", "--immediate", "--target-dir", work_->file("restored")});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_TRUE(std::regex_search(restore.err, std::regex("\npgdr: debug: chose snapshot " + newest +
                                                        R"( \(stopped \S+Z, LSN [0-9A-F]+/[0-9A-F]+, cluster 'test'\) held by 'local'\n)")))
      << restore.err;

  // The command line wins over [log] level in both directions.
  write_log_config("file = \"" + log_file() + "\"\nlevel = \"error\"\n");
  auto over = pgdr({"--verbose", "info"});
  EXPECT_NE(over.err.find("pgdr: debug: "), std::string::npos) << over.err;
  auto under = pgdr({"info"});
  EXPECT_EQ(under.err, "");

  auto both = pgdr({"-q", "-v", "info"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.err, "pgdr: --quiet and --verbose cannot be given together\n");
}

TEST_F(LogTest, ConfigurationMistakesInLogAreNamed) {
  write_log_config("level = \"loud\"\n");
  auto r = pgdr({"info"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("(" + std::string("[log] level must be error, warn, info or debug)")), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.starts_with("pgdr: invalid configuration: " + config_ + ":")) << r.err;
}

// A log file pgdr cannot open is said on stderr, and the command still does its work.
TEST_F(LogTest, AnUnwritableLogFileDoesNotStopTheCommand) {
  write_log_config("file = \"" + work_->file("no-such-directory/pgdr.log") + "\"\n");
  auto r = pgdr({"init"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("pgdr: warning: [log] file is not written: unable to open file: " +
                       work_->file("no-such-directory/pgdr.log") + " (No such file or directory)\n"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(std::filesystem::exists(repo_dir_ + "/pgdr.repo"));
}

// A datagram socket in the test's directory, standing in for /dev/log; the server user's pgdr may
// send to it.
class SyslogListener {
 public:
  explicit SyslogListener(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && chmod(path.c_str(), 0666) == 0;
    timeval tv{0, 200'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~SyslogListener() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }
  // Every datagram queued now.
  std::vector<std::string> drain() {
    std::vector<std::string> out;
    char buf[65536];
    for (ssize_t n; (n = recv(fd_, buf, sizeof buf, 0)) > 0;) out.emplace_back(buf, static_cast<std::size_t>(n));
    return out;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

TEST_F(LogTest, SyslogGetsEachLineWithIdentPgdr) {
  const std::string sock = work_->file("log.sock");
  SyslogListener listener(sock);
  ASSERT_TRUE(listener.ok()) << std::strerror(errno);
  write_log_config("syslog = \"local0\"\nlevel = \"debug\"\n");
  auto before_init = pgdr({"info"}, {"PGDR_SYSLOG_SOCKET=" + sock});
  EXPECT_EQ(before_init.exit_code, 1) << before_init.err;
  pgdr_ok({"init"});  // without the variable: /dev/log, which may be absent (a warning)
  auto r = pgdr({"info"}, {"PGDR_SYSLOG_SOCKET=" + sock});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = listener.drain();
  // local0 (16) * 8 + debug (7) = 135; + error (3) = 131.
  const std::string header = R"(<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d pgdr\[\d+\]: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )";
  int config_lines = 0, error_lines = 0;
  for (const auto& d : got) {
    EXPECT_TRUE(std::regex_match(d, std::regex(header + "(DEBUG|INFO|WARN|ERROR) info cluster=test: .+"))) << d;
    if (std::regex_match(d, std::regex("<135>.* DEBUG info cluster=test: configuration read from " + config_))) ++config_lines;
    if (std::regex_match(d, std::regex("<131>.* ERROR info cluster=test: no repository 'local' .+; HINT: create it with 'pgdr init'")))
      ++error_lines;
  }
  EXPECT_EQ(config_lines, 2) << testing::PrintToString(got);
  EXPECT_EQ(error_lines, 1) << testing::PrintToString(got);
}

// syslog = true uses the system's /dev/log. Where it exists the command logs there without a
// word; where it does not (a CI container), it says so once and goes on.
TEST_F(LogTest, SyslogWithoutADaemonIsAWarning) {
  write_log_config("syslog = true\n");
  auto r = pgdr({"init"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string warning = "pgdr: warning: [log] syslog is not written: unable to reach syslog at /dev/log: ";
  if (access("/dev/log", F_OK) == 0)
    EXPECT_EQ(r.err.find(warning), std::string::npos) << r.err;
  else
    EXPECT_NE(r.err.find(warning + "No such file or directory\n"), std::string::npos) << r.err;
}

// PostgreSQL's archiver runs archive-push; its lines are in the log file, apart from the server's log.
class ArchiveLogTest : public WalArchiveTest {};

TEST_F(ArchiveLogTest, ArchivePushRunByTheServerWritesTheLogFile) {
  const std::string log = work_->file("pgdr.log");
  write_config("[log]\nfile = \"" + log + "\"\nlevel = \"debug\"\n");
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  archive_now(*cluster_);
  const std::string segment = cluster_->psql("SELECT last_archived_wal FROM pg_stat_archiver");
  const std::string text = read_whole(log);
  const auto pushed = matching(text, kStamp + "DEBUG archive-push cluster=test: " + segment +
                                         " in repository 'local': stored as wal/.+");
  EXPECT_EQ(pushed.size(), 1u) << text;
  // The server ran it, so the pid is not one of ours and the file belongs to the server user.
  struct stat st {};
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, server_uid());
  // archive-get names the repository it read from.
  auto got = pgdr({"-v", "archive-get", segment, work_->file("fetched")});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(matching(read_whole(log), kStamp + "DEBUG archive-get cluster=test: WAL file " + segment + " written to " +
                                          work_->file("fetched") + ", read from repository 'local'")
                .size(),
            1u)
      << read_whole(log);
  // A refused file is an error line there too, not only in the server's log.
  const std::string bogus = work_->file("pg_wal_copy/000000010000000000000099");
  work_->make_dir("pg_wal_copy");
  work_->write_file("pg_wal_copy/000000010000000000000099", "not WAL");
  auto r = pgdr({"archive-push", bogus});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(matching(read_whole(log), kStamp + "ERROR archive-push cluster=test: .*000000010000000000000099.*").size(), 1u)
      << read_whole(log) << "\nstderr: " << r.err;
}

}  // namespace
}  // namespace pgdr::test
