#include "harness/background_process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "harness/server_user.h"

namespace pgdr::test {

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                     const std::string& log_path)
    : log_path_(log_path) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    throw Error(ErrorKind::internal, "BackgroundProcess needs an absolute program path");
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("unable to open", log_path, errno);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& kv : env) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(envs, [&](const std::string& e) { return e.compare(0, key.size() + 1, key + "=") == 0; });
    envs.push_back(kv);
  }
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  bool root = running_as_root();
  uid_t uid = root ? server_uid() : 0;
  gid_t gid = root ? server_gid() : 0;
  pid_ = fork();
  if (pid_ < 0) {
    int err = errno;
    ::close(fd);
    throw_errno("unable to fork for", argv[0], err);
  }
  if (pid_ == 0) {
    // Only async-signal-safe calls from here on.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (root && (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) _exit(127);
    if (chdir("/") != 0) _exit(127);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  ::close(fd);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0 && exit_code_ < 0) {
    try {
      stop(10);
    } catch (...) {
    }
  }
}

bool BackgroundProcess::reap(bool block) {
  if (exit_code_ >= 0) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
  return false;
}

bool BackgroundProcess::running() { return !reap(false); }

int BackgroundProcess::stop(int timeout_seconds) {
  if (reap(false)) return exit_code_;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (reap(false)) return exit_code_;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  reap(true);
  return exit_code_;
}

void BackgroundProcess::kill9() {
  if (reap(false)) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::string BackgroundProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace pgdr::test
