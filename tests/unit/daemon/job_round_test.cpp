// A round of a daemon job: once, or once per repository for the jobs that check repositories, and
// its outcome the worst of its tasks'.
#include "daemon/job_round.h"

#include <gtest/gtest.h>

namespace pgdr::daemon {
namespace {

const JobKind& kind(const std::string& name) {
  for (const auto& k : job_kinds())
    if (name == k.name) return k;
  throw std::runtime_error("no job " + name);
}

TaskRun task(const std::string& repository, const std::string& result, int exit_code, const std::string& line = "") {
  TaskRun t;
  t.repository = repository;
  t.outcome.result = result;
  t.outcome.exit_code = exit_code;
  t.outcome.last_line = line;
  return t;
}

TEST(JobRound, VerifyAndRestoreTestRunOncePerRepositoryTheOthersOnce) {
  for (const char* name : {"verify", "restore_test"}) EXPECT_TRUE(kind(name).per_repository) << name;
  for (const char* name : {"backup", "expire", "drill", "measure"}) EXPECT_FALSE(kind(name).per_repository) << name;

  JobRound verify(kind("verify"), {"local", "s3"});
  EXPECT_TRUE(verify.per_repository());
  EXPECT_EQ(verify.next_task(), "local");
  EXPECT_FALSE(verify.done());
  verify.task_ended(task("local", "pass", 0));
  EXPECT_EQ(verify.next_task(), "s3");
  EXPECT_FALSE(verify.done());
  verify.task_ended(task("s3", "pass", 0));
  EXPECT_EQ(verify.next_task(), std::nullopt);
  EXPECT_TRUE(verify.done());

  JobRound backup(kind("backup"), {"local", "s3"});
  EXPECT_FALSE(backup.per_repository());
  EXPECT_EQ(backup.next_task(), "");
  EXPECT_EQ(backup.next_task(), std::nullopt);
  backup.task_ended(task("", "ok", 0));
  EXPECT_TRUE(backup.done());
}

TEST(JobRound, TheRoundIsItsWorstTaskNamedByRepository) {
  JobRound r(kind("verify"), {"a", "b", "c"});
  while (r.next_task()) {
  }
  r.task_ended(task("a", "fail", 2, "  [critical] pack damaged"));
  r.task_ended(task("b", "error", 3, "pgdr: unable to read repository 'b'"));
  r.task_ended(task("c", "pass", 0));
  JobOutcome o = r.outcome(SystemTime(std::chrono::seconds(5)), 12.5);
  EXPECT_EQ(o.result, "error");
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.last_line, "repository 'b': pgdr: unable to read repository 'b'");
  EXPECT_EQ(o.seconds, 12.5);
  EXPECT_EQ(o.ended, SystemTime(std::chrono::seconds(5)));

  // A pass after a fail does not hide it.
  JobRound f(kind("verify"), {"a", "b"});
  f.next_task();
  f.task_ended(task("a", "fail", 2, "x"));
  f.next_task();
  f.task_ended(task("b", "pass", 0));
  EXPECT_EQ(f.outcome({}, 1).result, "fail");
  EXPECT_EQ(f.outcome({}, 1).last_line, "repository 'a': x");

  // One task: its own outcome, its line as it is.
  JobRound one(kind("measure"), {"a", "b"});
  one.next_task();
  one.task_ended(task("", "warn", 1, "pgdr: something"));
  EXPECT_EQ(one.outcome({}, 1).result, "warn");
  EXPECT_EQ(one.outcome({}, 1).last_line, "pgdr: something");
}

TEST(JobRound, AnAbandonedRoundEndsWithTheTasksThatRan) {
  JobRound r(kind("restore_test"), {"a", "b"});
  EXPECT_EQ(r.next_task(), "a");
  r.abandon();
  EXPECT_FALSE(r.done()) << "a is still running";
  r.task_ended(task("a", "interrupted", 143));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.next_task(), std::nullopt);
  EXPECT_EQ(r.outcome({}, 1).result, "interrupted");
}

TEST(JobRound, ResultsFollowTheExitCodes) {
  EXPECT_EQ(result_of(kind("backup"), 0, false), "ok");
  EXPECT_EQ(result_of(kind("backup"), 1, false), "error");
  EXPECT_EQ(result_of(kind("verify"), 2, false), "fail");
  EXPECT_EQ(result_of(kind("verify"), 3, false), "error");
  EXPECT_EQ(result_of(kind("verify"), 143, true), "interrupted");
  EXPECT_EQ(result_of(kind("verify"), 0, true), "pass");
  EXPECT_EQ(job_results(kind("verify")).size(), 5u);
  EXPECT_EQ(last_line("pgdr: warning: slow\npgdr: unable to open\nHINT: check it\n"), "pgdr: unable to open");
  EXPECT_EQ(last_line("one\ntwo\n  \n"), "two");
}

}  // namespace
}  // namespace pgdr::daemon
