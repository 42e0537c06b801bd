#include "daemon/job_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"

extern char** environ;

namespace pgdr::daemon {

namespace {
constexpr std::size_t kKeepBytes = 64 * 1024;

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}
}  // namespace

JobProcess::JobProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) throw Error(ErrorKind::internal, "no program to run");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Error(ErrorKind::io, "unable to create a pipe for job " + argv[0] + " (" + std::strerror(errno) + ")");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  // The child starts with default signal handling and nothing blocked, whatever the daemon set.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  // Its own process group: a Ctrl-C at the daemon's terminal reaches the daemon, which decides
  // what the job is told (the same SIGTERM a service stop sends).
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw Error(ErrorKind::io, "unable to start job " + argv[0] + " (" + std::strerror(rc) + ")");
  }
  out_fd_ = fds[0];
  reader_ = std::thread([this] {
    char buf[4096];
    // A grandchild that inherited the pipe (a server a job started) would keep it open after the job
    // ended: stop reading 2 s after the job's own exit rather than wait for that EOF.
    std::optional<std::chrono::steady_clock::time_point> stop_at;
    while (true) {
      if (child_exited_ && !stop_at) stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      if (stop_at && std::chrono::steady_clock::now() > *stop_at) break;
      pollfd p{out_fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, 200);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      output_.append(buf, static_cast<std::size_t>(n));
      if (output_.size() > 2 * kKeepBytes) output_.erase(0, output_.size() - kKeepBytes);
    }
  });
}

JobProcess::~JobProcess() {
  if (!exit_code_) {
    terminate();
    for (int i = 0; i < 100 && !poll(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!exit_code_) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  finish_reader();
}

void JobProcess::finish_reader() {
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
}

void JobProcess::terminate() {
  if (!exit_code_) kill(pid_, SIGTERM);
}

std::optional<int> JobProcess::poll() {
  if (exit_code_) return exit_code_;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_status(status);
    child_exited_ = true;
    finish_reader();
  }
  return exit_code_;
}

int JobProcess::wait() {
  while (!exit_code_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, 0);
    if (r == pid_) {
      exit_code_ = decode_status(status);
      child_exited_ = true;
      finish_reader();
    } else if (r < 0 && errno != EINTR) {
      exit_code_ = 255;
      child_exited_ = true;
      finish_reader();
    }
  }
  return *exit_code_;
}

std::string JobProcess::output() const {
  std::lock_guard lock(mu_);
  return output_.size() > kKeepBytes ? output_.substr(output_.size() - kKeepBytes) : output_;
}

}  // namespace pgdr::daemon
