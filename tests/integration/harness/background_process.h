// A program left running while a test goes on (pgdr wal-stream, say): started as the server user
// from "/", its stdout and stderr written to a log file beside the test's other files. The object
// owns the process: destroying it sends SIGTERM and, after a grace period, SIGKILL, so nothing
// outlives the test. Not thread-safe; not copyable.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pgdr::test {

class BackgroundProcess {
 public:
  // argv[0] must be an absolute path. env entries "K=V" are added to this process's environment.
  BackgroundProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    const std::string& log_path);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // SIGTERM, then wait up to timeout_seconds (SIGKILL after it); returns the exit code, or 128 +
  // signal number.
  int stop(int timeout_seconds = 30);
  void kill9();
  // True while the process runs; false once it exited (its code is then in exit_code()).
  bool running();
  int exit_code() const { return exit_code_; }
  pid_t pid() const { return pid_; }
  // What it printed so far.
  std::string log() const;

 private:
  bool reap(bool block);
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

}  // namespace pgdr::test
