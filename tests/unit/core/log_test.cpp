// Level filtering, the stderr forms, and the file and syslog destinations of core/log.h, in this
// process: each test sets the level and destinations it needs and puts the defaults back.
#include "core/log.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/log_config.h"

namespace pgdr {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgdr-log-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    set_log_command("unit-test");
  }
  void TearDown() override {
    set_command_line_log_level(std::nullopt);
    configure_log(LogConfig{}, "");
    unsetenv("PGDR_SYSLOG_SOCKET");
    std::filesystem::remove_all(dir_);
  }
  // What fn writes on stderr.
  template <class Fn>
  static std::string stderr_of(Fn fn) {
    testing::internal::CaptureStderr();
    fn();
    return testing::internal::GetCapturedStderr();
  }
  LogConfig with_file(LogLevel level) {
    LogConfig c;
    c.level = level;
    c.file = dir_ + "/pgdr.log";
    return c;
  }
  std::string dir_;
};

TEST_F(LogTest, StderrKeepsItsShortForms) {
  configure_log(LogConfig{}, "main");
  set_command_line_log_level(LogLevel::debug);
  EXPECT_EQ(stderr_of([] { log_warning("w"); }), "pgdr: warning: w\n");
  EXPECT_EQ(stderr_of([] { log_info("i"); }), "pgdr: i\n");
  EXPECT_EQ(stderr_of([] { log_debug("d"); }), "pgdr: debug: d\n");
  EXPECT_EQ(stderr_of([] { log_error("e", "do this"); }), "pgdr: e\nHINT: do this\n");
  EXPECT_EQ(stderr_of([] { log_error("e"); }), "pgdr: e\n");
}

TEST_F(LogTest, EachLevelLetsThroughItselfAndWhatIsMoreSevere) {
  configure_log(LogConfig{}, "main");
  auto all = [] {
    log_error("E");
    log_warning("W");
    log_info("I");
    log_debug("D");
  };
  EXPECT_EQ(stderr_of(all), "pgdr: E\npgdr: warning: W\npgdr: I\n");  // info, the default
  set_command_line_log_level(LogLevel::warn);
  EXPECT_EQ(stderr_of(all), "pgdr: E\npgdr: warning: W\n");
  EXPECT_TRUE(log_quiet());
  set_command_line_log_level(LogLevel::error);
  EXPECT_EQ(stderr_of(all), "pgdr: E\n");
  set_command_line_log_level(LogLevel::debug);
  EXPECT_EQ(stderr_of(all), "pgdr: E\npgdr: warning: W\npgdr: I\npgdr: debug: D\n");
  EXPECT_TRUE(log_enabled(LogLevel::debug));
  EXPECT_FALSE(log_quiet());
}

TEST_F(LogTest, CommandLineWinsOverTheConfiguration) {
  LogConfig c;
  c.level = LogLevel::warn;
  set_command_line_log_level(LogLevel::debug);
  configure_log(c, "main");
  EXPECT_EQ(log_level(), LogLevel::debug);
  set_command_line_log_level(std::nullopt);
  EXPECT_EQ(log_level(), LogLevel::warn);
  EXPECT_EQ(stderr_of([] { log_info("hidden"); }), "");
  c.level = LogLevel::debug;
  configure_log(c, "main");
  EXPECT_EQ(stderr_of([] { log_debug("shown"); }), "pgdr: debug: shown\n");
}

TEST_F(LogTest, FileGetsFullLinesAtTheLevelAndIsCreatedPrivate) {
  configure_log(with_file(LogLevel::info), "shop");
  stderr_of([] {
    log_info("first");
    log_debug("not at info");
    log_error("broke", "fix it");
    log_warning("two\nlines");
  });
  const std::string path = dir_ + "/pgdr.log";
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = read_text(path);
  const std::string pid = std::to_string(getpid());
  static const std::string ts = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";
  EXPECT_TRUE(std::regex_match(text, std::regex(ts + " \\[" + pid + "\\] INFO unit-test cluster=shop: first\n" + ts + " \\[" +
                                                pid + "\\] ERROR unit-test cluster=shop: broke; HINT: fix it\n" + ts +
                                                " \\[" + pid + "\\] WARN unit-test cluster=shop: two lines\n")))
      << text;
  // Appended, never truncated, by the next configuration of the same file.
  configure_log(with_file(LogLevel::info), "shop");
  stderr_of([] { log_info("again"); });
  const std::string after = read_text(path);
  EXPECT_TRUE(after.starts_with(text)) << after;
  EXPECT_NE(after.find("INFO unit-test cluster=shop: again\n"), std::string::npos) << after;
}

TEST_F(LogTest, AnExistingFileKeepsItsMode) {
  const std::string path = dir_ + "/pgdr.log";
  std::ofstream(path) << "earlier line\n";
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  configure_log(with_file(LogLevel::info), "shop");
  stderr_of([] { log_info("next"); });
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_TRUE(read_text(path).starts_with("earlier line\n"));
}

TEST_F(LogTest, AFileThatCannotBeOpenedIsAWarningNotAFailure) {
  LogConfig c = with_file(LogLevel::info);
  c.file = dir_ + "/missing-directory/pgdr.log";
  const std::string err = stderr_of([&] {
    configure_log(c, "shop");
    log_info("still shown");
  });
  EXPECT_EQ(err, "pgdr: warning: [log] file is not written: unable to open file: " + c.file +
                     " (No such file or directory)\npgdr: still shown\n");
}

// Processes appending at once (PostgreSQL runs archive-push per segment): every line whole, even
// lines longer than a pipe's atomic write size.
TEST_F(LogTest, ConcurrentProcessesNeverSplitALine) {
  constexpr int kProcesses = 4, kLines = 300;
  const std::string payload(6000, 'x');
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Only async-signal-safe work would be strictly allowed after fork in a threaded process;
      // the test binary has no other thread here, and the child exits without unwinding.
      configure_log(with_file(LogLevel::info), "shop");
      // Its stderr lines are not what is checked; they would only fill the test output.
      if (std::freopen("/dev/null", "w", stderr) == nullptr) _exit(3);
      for (int i = 0; i < kLines; ++i) log_info("p" + std::to_string(p) + " " + payload);
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t c : children) {
    int status = 0;
    ASSERT_EQ(waitpid(c, &status, 0), c);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::istringstream in(read_text(dir_ + "/pgdr.log"));
  int lines = 0;
  static const std::regex whole(R"(\S+ \[\d+\] INFO unit-test cluster=shop: p[0-3] x{6000})");
  for (std::string line; std::getline(in, line); ++lines)
    ASSERT_TRUE(std::regex_match(line, whole)) << "line " << lines << " is not whole: " << line.substr(0, 120);
  EXPECT_EQ(lines, kProcesses * kLines);
}

// A datagram socket standing in for /dev/log.
class SyslogListener {
 public:
  explicit SyslogListener(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~SyslogListener() { close(fd_); }
  bool bound() const { return bound_; }
  // The next datagram, "" after 5 s without one.
  std::string receive() {
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST_F(LogTest, SyslogGetsOneDatagramPerLine) {
  const std::string sock = dir_ + "/log.sock";
  SyslogListener listener(sock);
  ASSERT_TRUE(listener.bound()) << std::strerror(errno);
  setenv("PGDR_SYSLOG_SOCKET", sock.c_str(), 1);
  LogConfig c;
  c.syslog_facility = "local3";
  configure_log(c, "shop");
  stderr_of([] {
    log_warning("look here");
    log_debug("not at info");
    log_info("and here");
  });
  const std::string pid = std::to_string(getpid());
  EXPECT_TRUE(std::regex_match(listener.receive(),
                               std::regex("<156>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d pgdr\\[" + pid +
                                          "\\]: \\S+Z WARN unit-test cluster=shop: look here")));
  const std::string second = listener.receive();
  EXPECT_TRUE(second.starts_with("<158>")) << second;
  EXPECT_TRUE(second.ends_with(" INFO unit-test cluster=shop: and here")) << second;
}

TEST_F(LogTest, AnUnreachableSyslogIsAWarningNotAFailure) {
  setenv("PGDR_SYSLOG_SOCKET", (dir_ + "/nobody-listens").c_str(), 1);
  LogConfig c;
  c.syslog_facility = "user";
  const std::string err = stderr_of([&] { configure_log(c, "shop"); });
  EXPECT_EQ(err, "pgdr: warning: [log] syslog is not written: unable to reach syslog at " + dir_ +
                     "/nobody-listens: No such file or directory\n");
}

}  // namespace
}  // namespace pgdr
