// One job of `pgdr daemon` running as a child process (another pgdr of the same binary): started at
// once, its stdout and stderr collected by a reader thread (the last 64 KiB kept), polled without
// blocking by the scheduler, and told to stop with SIGTERM when the daemon stops. The object owns
// the child: destroying it while the child runs sends SIGTERM, waits up to 10 s, then SIGKILL.
// Not thread-safe; not copyable.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pgdr::daemon {

class JobProcess {
 public:
  // argv[0] is an absolute path. Throws Error(io) when the program cannot be started.
  explicit JobProcess(const std::vector<std::string>& argv);
  ~JobProcess();
  JobProcess(const JobProcess&) = delete;
  JobProcess& operator=(const JobProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Asks the child to stop (SIGTERM): pgdr commands roll back the work in hand and exit.
  void terminate();
  // The exit code once the child has ended (128 + signal when a signal ended it), else nullopt.
  std::optional<int> poll();
  // Blocks until the child has ended; returns its exit code.
  int wait();
  // What the child printed (stdout and stderr interleaved); complete once poll() returned a value.
  std::string output() const;

 private:
  void finish_reader();
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::optional<int> exit_code_;
  std::atomic<bool> child_exited_{false};
  std::thread reader_;
  mutable std::mutex mu_;
  std::string output_;
};

}  // namespace pgdr::daemon
