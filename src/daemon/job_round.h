// One run of a `pgdr daemon` job, called a round: the job's command once, or, for a job that checks
// repositories (verify, restore_test), once per configured repository (`--repo NAME`), one after
// another, so that every repository is checked and the load stays that of one command at a time.
// Each run of the command is a task. The round's outcome is its worst task's: a repository that
// fails is not hidden by one that passes after it.
// A JobRound is a plain value that starts no process; the daemon (daemon.cpp) runs the tasks it
// hands out. Not thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "daemon/daemon.h"
#include "daemon/status.h"

namespace pgdr::daemon {

// What one task did.
struct TaskRun {
  std::string repository;  // "" for a task of the whole configuration
  SystemTime started{};
  JobOutcome outcome;
  std::string output;  // what the command printed (the end of it)
};

class JobRound {
 public:
  // repositories: the configured ones, in order; used only by a per-repository job.
  JobRound(const JobKind& kind, const std::vector<std::string>& repositories);

  // The repository of the next task to start ("" for a whole-configuration job), and that task
  // counts as started; nullopt when every task has started or the round was abandoned.
  std::optional<std::string> next_task();
  // Records a task's end.
  void task_ended(const TaskRun& run);
  // No further task starts (the daemon is stopping).
  void abandon() { abandoned_ = true; }
  // True once a task's outcome was recorded for every task that started and none is left to start.
  bool done() const { return ended_ == started_ && (abandoned_ || started_ == repositories_.size()); }
  // Whether the round runs per repository (it then names the repository in its lines).
  bool per_repository() const { return per_repository_; }

  // The round's outcome: its worst task's result, exit code and line (the line prefixed with the
  // repository for a per-repository job), ended and seconds as given.
  JobOutcome outcome(SystemTime ended, double seconds) const;

 private:
  bool per_repository_;
  std::vector<std::string> repositories_;  // one entry ("") for a whole-configuration job
  std::size_t started_ = 0;
  std::size_t ended_ = 0;
  bool abandoned_ = false;
  std::optional<TaskRun> worst_;
};

// Every result result_of can give a job of this kind, for its counters.
std::vector<const char*> job_results(const JobKind& kind);
// A task's result from its exit code: "ok"/"error" for an action job, "pass", "warn", "fail" or
// "error" (exit 3 or more) for a check job; "interrupted" for a failure while the daemon stops.
std::string result_of(const JobKind& kind, int exit_code, bool stopping);
// What a failed command said: its last "pgdr: " line that is neither a warning nor a debug line
// (the error, before any HINT), else its last line.
std::string last_line(const std::string& output);

}  // namespace pgdr::daemon
