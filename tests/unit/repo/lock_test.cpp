#include "repo/lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "core/log.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::error_of;

const std::string kLockObject = "locks/writer";

std::string this_host() {
  char buf[256] = {};
  EXPECT_EQ(gethostname(buf, sizeof buf - 1), 0);
  return buf;
}

// Fields 3 (state) and 22 (start time in clock ticks) of /proc/PID/stat.
struct ProcStat {
  std::string state;
  std::string start;
};
ProcStat proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  ProcStat s;
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3) s.state = field;
    if (i == 22) s.start = field;
  }
  return s;
}

// A child process that exits at once; reaped unless keep_zombie.
pid_t exited_child(bool keep_zombie) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  EXPECT_GT(pid, 0);
  if (!keep_zombie) {
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
  } else {
    for (int i = 0; i < 500 && proc_stat(pid).state != "Z"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(proc_stat(pid).state, "Z");
  }
  return pid;
}

// Kills and reaps a child the test did not reap itself, so a failing test leaves no process behind.
struct ChildGuard {
  pid_t pid = -1;
  bool reaped = false;
  ~ChildGuard() {
    if (pid > 0 && !reaped) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

class RepoLockTest : public test::RepoTestBase {
 protected:
  nlohmann::json lock_json() {
    Bytes b = raw(kLockObject);
    return nlohmann::json::parse(b.begin(), b.end());
  }
  void write_lock(const nlohmann::json& j) { put_raw(kLockObject, as_bytes(j.dump() + "\n")); }
  nlohmann::json holder(const std::string& host, long pid, const std::string& start) {
    return {{"host", host}, {"pid", pid}, {"start", start}, {"command", "backup"}, {"since", "2026-01-01T00:00:00Z"}};
  }
  std::string locked_message(const std::string& command, long pid, const std::string& host, const std::string& since) {
    return "repository 'main' is locked by " + command + " (pid " + std::to_string(pid) + " on host " + host +
           " since " + since + ")";
  }
  std::string hint() const {
    return "wait for it to finish; if that process is gone for good, remove locks/writer in " + store_.describe();
  }
  // After a stale lock was broken: the object is ours now.
  void expect_held_by_us() {
    auto j = lock_json();
    EXPECT_EQ(j.at("pid").get<long>(), static_cast<long>(getpid()));
    EXPECT_EQ(j.at("host"), this_host());
  }
};

TEST_F(RepoLockTest, AcquireNamesTheHolderAndReleaseRemovesIt) {
  RepoLock lock = RepoLock::acquire(store_, "main", "backup");
  auto j = lock_json();
  EXPECT_EQ(j.at("host"), this_host());
  EXPECT_EQ(j.at("pid").get<long>(), static_cast<long>(getpid()));
  EXPECT_EQ(j.at("start"), proc_stat(getpid()).start);
  EXPECT_EQ(j.at("command"), "backup");
  EXPECT_FALSE(j.at("since").get<std::string>().empty());

  lock.release();
  EXPECT_FALSE(store_.stat(kLockObject).has_value());
  lock.release();  // twice is harmless
  RepoLock again = RepoLock::acquire(store_, "main", "prune");
  EXPECT_EQ(lock_json().at("command"), "prune");
}

TEST_F(RepoLockTest, DestructorReleasesAndAMovedLockReleasesOnce) {
  {
    RepoLock lock = RepoLock::acquire(store_, "main", "backup");
    RepoLock moved(std::move(lock));
    lock.release();  // the moved-from lock holds nothing
    EXPECT_TRUE(store_.stat(kLockObject).has_value());
  }
  EXPECT_FALSE(store_.stat(kLockObject).has_value());
}

TEST_F(RepoLockTest, SecondAcquireInTheSameProcessIsLocked) {
  RepoLock lock = RepoLock::acquire(store_, "main", "backup");
  const std::string since = lock_json().at("since");
  Error e = error_of([&] { RepoLock::acquire(store_, "main", "expire"); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_EQ(std::string(e.what()), locked_message("backup", getpid(), this_host(), since));
  EXPECT_EQ(e.hint(), hint());
  // The failed attempt left the holder's lock alone.
  EXPECT_EQ(lock_json().at("command"), "backup");
}

TEST_F(RepoLockTest, AWaitingAcquireTakesTheLockOnceTheHolderReleasesIt) {
  auto lock = std::make_unique<RepoLock>(RepoLock::acquire(store_, "main", "expire"));
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    lock.reset();
  });
  auto started = std::chrono::steady_clock::now();
  RepoLock mine = RepoLock::acquire(store_, "main", "backup", {std::chrono::seconds(20), {"expire"}});
  auto waited = std::chrono::steady_clock::now() - started;
  holder.join();
  EXPECT_GE(waited, std::chrono::milliseconds(600));
  EXPECT_LT(waited, std::chrono::seconds(10));
  EXPECT_EQ(lock_json().at("command"), "backup");
}

// At debug level a wait is said when it starts and when it ends, once each, naming the holder.
TEST_F(RepoLockTest, AWaitIsLoggedAtDebugLevel) {
  auto lock = std::make_unique<RepoLock>(RepoLock::acquire(store_, "main", "expire"));
  const std::string since = lock_json().at("since");
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    lock.reset();
  });
  set_command_line_log_level(LogLevel::debug);
  testing::internal::CaptureStderr();
  RepoLock mine = RepoLock::acquire(store_, "main", "backup", {std::chrono::minutes(10), {"expire"}});
  const std::string err = testing::internal::GetCapturedStderr();
  set_command_line_log_level(std::nullopt);
  holder.join();
  EXPECT_TRUE(err.starts_with("pgdr: debug: waiting up to 10m: " + locked_message("expire", getpid(), this_host(), since) +
                              "\npgdr: debug: took the lock of repository 'main' after waiting "))
      << err;
  EXPECT_TRUE(err.ends_with(" ms\n")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
}

TEST_F(RepoLockTest, AWaitingAcquireGivesUpAfterItsTimeoutOrForAHolderItDoesNotWaitFor) {
  RepoLock lock = RepoLock::acquire(store_, "main", "backup");
  const std::string since = lock_json().at("since");
  // A backup waits for an expire only: another backup is reported at once.
  auto started = std::chrono::steady_clock::now();
  Error e = error_of([&] { RepoLock::acquire(store_, "main", "backup", {std::chrono::seconds(20), {"expire"}}); });
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(std::string(e.what()), locked_message("backup", getpid(), this_host(), since));
  // Waiting for any holder ends with the same error when the timeout passes.
  started = std::chrono::steady_clock::now();
  e = error_of([&] { RepoLock::acquire(store_, "main", "expire", {std::chrono::milliseconds(700), {}}); });
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(700));
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_EQ(std::string(e.what()), locked_message("backup", getpid(), this_host(), since));
  EXPECT_EQ(lock_json().at("command"), "backup");
}

TEST_F(RepoLockTest, LiveHolderOnThisHostIsRespected) {
  pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  ChildGuard guard{child};
  ASSERT_GT(child, 0);
  std::string start = proc_stat(child).start;
  write_lock(holder(this_host(), child, start));
  Error e = error_of([&] { RepoLock::acquire(store_, "main", "backup"); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_EQ(std::string(e.what()), locked_message("backup", child, this_host(), "2026-01-01T00:00:00Z"));
  EXPECT_EQ(lock_json().at("pid").get<long>(), static_cast<long>(child));

  // Killed, but not yet reaped by us: a zombie holds nothing, so its lock is broken.
  kill(child, SIGKILL);
  for (int i = 0; i < 500 && proc_stat(child).state != "Z"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  RepoLock lock = RepoLock::acquire(store_, "main", "backup");
  expect_held_by_us();
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
  guard.reaped = true;
}

TEST_F(RepoLockTest, StaleLockOfADeadProcessIsBroken) {
  pid_t dead = exited_child(false);
  write_lock(holder(this_host(), dead, "12345"));
  RepoLock lock = RepoLock::acquire(store_, "main", "backup");
  expect_held_by_us();
  lock.release();
  EXPECT_FALSE(store_.stat(kLockObject).has_value());
}

TEST_F(RepoLockTest, StaleLockOfAZombieIsBroken) {
  pid_t zombie = exited_child(true);
  ChildGuard guard{zombie};
  write_lock(holder(this_host(), zombie, proc_stat(zombie).start));
  RepoLock lock = RepoLock::acquire(store_, "main", "backup");
  expect_held_by_us();
  int status = 0;
  EXPECT_EQ(waitpid(zombie, &status, 0), zombie);
  guard.reaped = true;
}

TEST_F(RepoLockTest, RecycledPidIsNotMistakenForTheHolder) {
  // Our own pid, but started at another time: the process that wrote the lock is gone.
  write_lock(holder(this_host(), getpid(), "1"));
  RepoLock lock = RepoLock::acquire(store_, "main", "backup");
  expect_held_by_us();
  EXPECT_EQ(lock_json().at("start"), proc_stat(getpid()).start);
}

TEST_F(RepoLockTest, LockFromAnotherHostIsNeverBroken) {
  pid_t dead = exited_child(false);
  const std::string host = this_host() + "-elsewhere";
  write_lock(holder(host, dead, "12345"));
  Error e = error_of([&] { RepoLock::acquire(store_, "main", "backup"); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_EQ(std::string(e.what()), locked_message("backup", dead, host, "2026-01-01T00:00:00Z"));
  EXPECT_EQ(e.hint(), hint());
  EXPECT_EQ(lock_json().at("host"), host);
}

TEST_F(RepoLockTest, UnreadableLockIsLockedWithAHint) {
  put_raw(kLockObject, as_bytes("{\"host\": \"db1\", \"pi"));
  Error e = error_of([&] { RepoLock::acquire(store_, "main", "backup"); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_EQ(std::string(e.what()),
            "repository 'main' has an unreadable lock locks/writer in " + store_.describe());
  EXPECT_EQ(e.hint(), "if no pgdr runs against it, remove that object");
  EXPECT_TRUE(store_.stat(kLockObject).has_value());
}

TEST_F(RepoLockTest, LockThatIsJsonButNotALockIsUnreadable) {
  // Valid JSON of the wrong shape: not an object, or fields of the wrong type.
  for (const std::string& text : {std::string("[]"), std::string("42"), "{\"host\": \"" + this_host() + "\", \"pid\": \"123\"}",
                                  std::string("{\"host\": 7, \"pid\": 123}"),
                                  std::string("{\"host\": \"elsewhere\", \"command\": [1]}")}) {
    SCOPED_TRACE(text);
    put_raw(kLockObject, as_bytes(text));
    Error e = error_of([&] { RepoLock::acquire(store_, "main", "backup"); });
    EXPECT_EQ(e.kind(), ErrorKind::locked);
    EXPECT_EQ(std::string(e.what()),
              "repository 'main' has an unreadable lock locks/writer in " + store_.describe());
    EXPECT_EQ(Bytes(raw(kLockObject)), to_bytes(text));
  }
}

TEST_F(RepoLockTest, LockWithoutAPidIsNotBroken) {
  // Nothing proves such a holder dead: it stays until removed by hand.
  write_lock({{"host", this_host()}, {"command", "backup"}, {"since", "2026-01-01T00:00:00Z"}});
  Error e = error_of([&] { RepoLock::acquire(store_, "main", "backup"); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_EQ(std::string(e.what()), locked_message("backup", 0, this_host(), "2026-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace pgdr::repo
