// `pgdr daemon`: runs the [schedule] jobs as child processes of this same binary, serves
// /metrics, /health, the dashboard and stored reports over HTTP, and stops cleanly on SIGTERM or
// SIGINT (no new job starts; the jobs in hand get SIGTERM, roll back and end; then it exits 0).
//
// A job that checks repositories (verify, restore_test) runs once per configured repository
// (job_round.h); the others run once.
//
// Threads: the calling thread schedules and reaps jobs; cpp-httplib's threads answer requests. They
// share the job statistics and the opened repositories, each behind a mutex.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "repo/repository.h"

namespace pgdr::daemon {

struct DaemonOptions {
  std::string pgdr_binary;  // absolute path of the binary the jobs run
  std::string config_path;  // absolute path of the configuration the jobs read
  bool syslog = false;      // log job lines to syslog (facility daemon) as well as stderr
};

// Returns the exit code: 0 after a clean stop. Throws Error(config) for a bad schedule and Error(io)
// when it cannot listen.
int run_daemon(const Config& config, const DaemonOptions& options, std::vector<repo::Repository> repos);

// The jobs the daemon knows, in the order it considers them, and what each runs.
struct JobKind {
  const char* name;               // [schedule] key and catalog kind
  std::vector<std::string> args;  // pgdr arguments after --config FILE
  bool check;                     // a check command (exit 0/1/2/3) rather than an action (0/1)
  // Run once per configured repository with `--repo NAME`, one after another (job_round.h),
  // rather than once: the command checks one repository at a time.
  bool per_repository = false;
};
const std::vector<JobKind>& job_kinds();

// The configured schedule text of a job ("" when not scheduled).
const std::string& schedule_text(const ScheduleConfig& schedule, const std::string& job);

}  // namespace pgdr::daemon
