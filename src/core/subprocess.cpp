#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>

#include "core/error.h"

extern char** environ;

// posix_spawnp rather than fork + execvp: glibc runs it as clone(CLONE_VM | CLONE_VFORK), which
// costs the same whatever the size of the parent (a test binary or a daemon with big buffers), runs
// no parent code in the child (nothing to get wrong after fork in a threaded process), and reports
// an exec failure as its return value.

namespace pgdr {
namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(ErrorKind::io, "unable to create a pipe (" + errno_text(errno) + ")");
  return {Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    throw Error(ErrorKind::io, "unable to make a pipe non-blocking (" + errno_text(errno) + ")");
  }
}

// This environment with each "K=V" of extra replacing K or added.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  for (const std::string& entry : extra) {
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorKind::internal, "environment entry for a child process is not K=V: '" + entry.substr(0, eq) + "'");
    }
    const std::string_view key(entry.data(), eq + 1);  // "K="
    std::erase_if(env, [&](const std::string& e) { return std::string_view(e).starts_with(key); });
    env.push_back(entry);
  }
  return env;
}

// Blocks SIGPIPE in this thread while we feed a child's stdin: a child that exits without reading
// must give us EPIPE, not kill us. A SIGPIPE raised meanwhile is consumed before unblocking.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_) == 0;
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  ~SigpipeBlock() {
    if (!blocked_) return;
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_set_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string program_name(const std::vector<std::string>& argv) { return argv.front(); }

// The child's exit status if it has exited (reaped now), nullopt while it runs.
std::optional<int> try_wait(pid_t pid) {
  int status = 0;
  pid_t r = 0;
  while ((r = ::waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r != pid) return std::nullopt;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

using SteadyClock = std::chrono::steady_clock;
// How long output is still read once a limited child has exited: what it wrote before exiting is
// in the pipe already; anything later comes from processes it left behind.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(100);
// How often a limited child is checked for having exited while its output pipes stay open.
constexpr int kExitPollMs = 20;

ProcessResult run(const std::vector<std::string>& argv, const std::string& stdin_data,
                  const std::vector<std::string>& extra_env, const RunLimits* limits);

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                          const std::vector<std::string>& extra_env) {
  return run(argv, stdin_data, extra_env, nullptr);
}

ProcessResult run_limited(const std::vector<std::string>& argv, const RunLimits& limits,
                          const std::vector<std::string>& extra_env) {
  return run(argv, {}, extra_env, &limits);
}

namespace {

ProcessResult run(const std::vector<std::string>& argv, const std::string& stdin_data,
                  const std::vector<std::string>& extra_env, const RunLimits* limits) {
  if (argv.empty() || argv.front().empty()) throw Error(ErrorKind::internal, "run_process called without a program");

  std::vector<std::string> env = child_environment(extra_env);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  argp.reserve(args.size() + 1);
  for (std::string& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);

  Pipe in = make_pipe();
  Pipe out = make_pipe();
  Pipe err = make_pipe();

  SpawnSetup setup;
  // dup2 onto 0, 1 and 2 clears close-on-exec there; every other descriptor of ours is
  // close-on-exec, and closefrom covers ones opened without it elsewhere in the process (a
  // postmaster started through pg_ctl would otherwise hold them for its lifetime).
  posix_spawn_file_actions_adddup2(&setup.actions_, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions_, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions_, err.write.get(), STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  posix_spawn_file_actions_addclosefrom_np(&setup.actions_, STDERR_FILENO + 1);
#endif
  // Default dispositions (we may ignore SIGPIPE; the child must not inherit that) and an empty mask.
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&setup.attr_, &all);
  posix_spawnattr_setsigmask(&setup.attr_, &none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (limits != nullptr) {
    // Its own process group: a timeout then ends whatever it started too.
    posix_spawnattr_setpgroup(&setup.attr_, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&setup.attr_, flags);

  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argp[0], &setup.actions_, &setup.attr_, argp.data(), envp.data());
  if (rc != 0) {
    throw Error(ErrorKind::io, "unable to start program: " + program_name(argv) + " (" + errno_text(rc) + ")");
  }
  in.read.reset();
  out.write.reset();
  err.write.reset();

  ProcessResult result;
  const auto started = SteadyClock::now();
  const bool has_deadline = limits != nullptr && limits->timeout.count() > 0;
  const auto deadline = started + (has_deadline ? limits->timeout : std::chrono::milliseconds(0));
  std::optional<int> exited;
  std::optional<SteadyClock::time_point> drain_until;
  const auto close_all = [&] {
    in.write.reset();
    out.read.reset();
    err.read.reset();
  };
  try {
    set_nonblocking(in.write.get());
    set_nonblocking(out.read.get());
    set_nonblocking(err.read.get());
    if (stdin_data.empty()) in.write.reset();

    SigpipeBlock sigpipe_guard;
    std::size_t written = 0;
    char buf[65536];
    while (in.write.open() || out.read.open() || err.read.open()) {
      pollfd fds[3];
      nfds_t n = 0;
      int in_slot = -1, out_slot = -1, err_slot = -1;
      if (in.write.open()) {
        in_slot = static_cast<int>(n);
        fds[n++] = {in.write.get(), POLLOUT, 0};
      }
      if (out.read.open()) {
        out_slot = static_cast<int>(n);
        fds[n++] = {out.read.get(), POLLIN, 0};
      }
      if (err.read.open()) {
        err_slot = static_cast<int>(n);
        fds[n++] = {err.read.get(), POLLIN, 0};
      }
      int wait_ms = -1;
      if (limits != nullptr) {
        const auto now = SteadyClock::now();
        if (has_deadline && now >= deadline) {
          kill_group(pid);
          result.timed_out = true;
          close_all();
          break;
        }
        if (!exited) exited = try_wait(pid);
        if (exited && !drain_until) drain_until = now + kDrainAfterExit;
        if (drain_until && now >= *drain_until) {
          close_all();
          break;
        }
        wait_ms = kExitPollMs;
      }
      const int ready = ::poll(fds, n, wait_ms);
      if (ready == 0) continue;
      if (ready < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorKind::io, "unable to wait for program: " + program_name(argv) + " (" + errno_text(errno) + ")");
      }

      if (in_slot >= 0 && fds[in_slot].revents != 0) {
        const std::size_t chunk = std::min<std::size_t>(stdin_data.size() - written, sizeof buf);
        const ssize_t w = ::write(in.write.get(), stdin_data.data() + written, chunk);
        if (w > 0) {
          written += static_cast<std::size_t>(w);
          if (written == stdin_data.size()) in.write.reset();
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          in.write.reset();  // EPIPE: the child closed its stdin, which is its business
        }
      }
      const auto drain = [&](int slot, Fd& fd, std::string& sink) {
        if (slot < 0 || fds[slot].revents == 0) return;
        const ssize_t r = ::read(fd.get(), buf, sizeof buf);
        if (r > 0) {
          sink.append(buf, static_cast<std::size_t>(r));
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          fd.reset();
        }
      };
      drain(out_slot, out.read, result.out);
      drain(err_slot, err.read, result.err);
      // Past the first line the output is read and dropped rather than the pipes closed: a child
      // still writing would die of SIGPIPE and hide its real exit status.
      if (limits != nullptr && limits->first_line_only)
        if (const auto nl = result.out.find('\n'); nl != std::string::npos) result.out.resize(nl + 1);
    }
    // Output is done with; a limited child still running is given until the deadline to exit.
    while (limits != nullptr && !exited && !result.timed_out) {
      exited = try_wait(pid);
      if (exited) break;
      if (has_deadline && SteadyClock::now() >= deadline) {
        kill_group(pid);
        result.timed_out = true;
        break;
      }
      ::poll(nullptr, 0, kExitPollMs);
    }
  } catch (...) {
    if (limits != nullptr) kill_group(pid); else ::kill(pid, SIGKILL);
    if (!exited) wait_for(pid);
    throw;
  }

  result.exit_code = exited ? *exited : wait_for(pid);
  if (result.exit_code < 0) {
    throw Error(ErrorKind::io, "unable to collect the exit status of program: " + program_name(argv) + " (" +
                                   errno_text(errno) + ")");
  }
  return result;
}

}  // namespace

ProcessResult run_shell(const std::string& command) { return run_process({"/bin/sh", "-c", command}); }

}  // namespace pgdr
