#include "harness/pg_cluster.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "harness/server_user.h"

namespace pgdr::test {
namespace {

// Debian's PostgreSQL 15: its server, and the client programs used against every major.
constexpr const char* kDebianBinDir = "/usr/lib/postgresql/15/bin";
// Where .ci/deps.sh puts the other majors' servers; PGDR_PG_CACHE overrides it, as it does there.
constexpr const char* kPgCacheDefault = "/var/cache/pgdr-test/postgresql";
constexpr const char* kLoopback = "127.0.0.1";

// ---- Postmasters to kill if the test binary dies without running destructors --------------------
//
// A fixed array of atomics: the fatal-signal handler may only read plain memory and call kill().
// Each slot holds (registering pid << 32 | postmaster pid): a forked child (a death test, say)
// inherits the array but must not kill its parent's servers when it exits.

constexpr int kMaxPostmasters = 256;
std::atomic<std::uint64_t> g_postmasters[kMaxPostmasters];
struct sigaction g_previous_actions[NSIG];
constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

std::uint64_t registry_entry(pid_t pid) {
  return (static_cast<std::uint64_t>(::getpid()) << 32) | static_cast<std::uint32_t>(pid);
}

void register_postmaster(pid_t pid) {
  for (auto& slot : g_postmasters) {
    std::uint64_t expected = 0;
    if (slot.compare_exchange_strong(expected, registry_entry(pid))) return;
  }
  // Full: the pid is still killed by the owning PgCluster's destructor, only not on a crash.
}

void unregister_postmaster(pid_t pid) {
  for (auto& slot : g_postmasters) {
    std::uint64_t expected = registry_entry(pid);
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

// Crash path only (signal handler, exit): SIGKILL to the postmaster. Its backends notice the
// postmaster's death and exit by themselves; each leads its own process group (PostgreSQL calls
// setsid() in every child), so there is no single group to kill here.
void kill_postmaster(pid_t pid) noexcept { ::kill(pid, SIGKILL); }

void kill_registered_postmasters() noexcept {
  const auto self = static_cast<std::uint64_t>(::getpid());
  for (auto& slot : g_postmasters) {
    const std::uint64_t entry = slot.load();
    if (entry == 0 || entry >> 32 != self) continue;
    slot.store(0);
    kill_postmaster(static_cast<pid_t>(entry & 0xFFFFFFFFu));
  }
}

extern "C" void on_fatal_signal(int sig) {
  kill_registered_postmasters();
  // Hand the signal to whoever had it before (usually the default action: terminate, core).
  ::sigaction(sig, &g_previous_actions[sig], nullptr);
  ::raise(sig);
}

void install_crash_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(kill_registered_postmasters);
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    for (int sig : kFatalSignals) ::sigaction(sig, &sa, &g_previous_actions[sig]);
    // Postmasters outlive pg_ctl, their parent, and are re-parented to the nearest subreaper. We
    // volunteer so that we can reap them: otherwise they go to PID 1, and where PID 1 does not
    // reap (some container and VM inits), a killed postmaster stays a zombie that the next server
    // on its data directory takes for a live owner of postmaster.pid.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  });
}

// ---- Processes ---------------------------------------------------------------------------------

struct ProcStat {
  char state = 0;  // 0: no such process
  pid_t ppid = 0;
  pid_t pgrp = 0;
  std::string comm;
};

ProcStat proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split at the last ')'.
  const auto open = line.find('(');
  const auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size()) return {};
  ProcStat st;
  st.comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 2));
  rest >> st.state >> st.ppid >> st.pgrp;
  return st;
}

// Every process in /proc, with its stat line parsed.
template <typename F>
void for_each_process(F&& f) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return;
  while (const dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    const ProcStat st = proc_stat(static_cast<pid_t>(pid));
    if (st.state != 0) f(static_cast<pid_t>(pid), st);
  }
  ::closedir(proc);
}

// A power cut, as far as one server can have one: freeze the postmaster so that it forks no more,
// then SIGKILL each child with its process group (a child's own children, such as a running
// archive_command, are in it) and the postmaster. Returns the process groups killed.
std::vector<pid_t> crash_server(pid_t postmaster) {
  ::kill(postmaster, SIGSTOP);
  std::vector<pid_t> groups = {postmaster};
  for_each_process([&](pid_t pid, const ProcStat& st) {
    if (st.ppid == postmaster) groups.push_back(pid);
  });
  for (pid_t child : groups) {
    if (child == postmaster) continue;
    ::kill(-child, SIGKILL);
    ::kill(child, SIGKILL);
  }
  ::kill(-postmaster, SIGKILL);
  ::kill(postmaster, SIGKILL);
  return groups;
}

// Waits until no process of the given process groups (or with one of those pids) is alive, reaping those that became our
// children (we are their subreaper once their parent died). Returns false after timeout.
bool reap_groups(const std::vector<pid_t>& groups, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const pid_t self = ::getpid();
  while (true) {
    bool remaining = false;
    for_each_process([&](pid_t pid, const ProcStat& st) {
      const bool member = std::find(groups.begin(), groups.end(), st.pgrp) != groups.end() ||
                          std::find(groups.begin(), groups.end(), pid) != groups.end();
      if (!member) return;
      if (st.ppid == self && ::waitpid(pid, nullptr, WNOHANG) == pid) return;
      if (st.state != 'Z' && st.state != 'X') remaining = true;
    });
    if (!remaining) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string quote_setting(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The harness's own server commands, with messages in English whatever the environment says.
ProcessResult run_server(const std::vector<std::string>& argv, const std::string& stdin_data = {}) {
  return run_as_server_user(argv, stdin_data, {"LC_ALL=C"});
}

void append_line(const std::string& file, const std::string& text) {
  std::ofstream out(file, std::ios::app);
  out << text;
  out.flush();
  if (!out) throw Error(ErrorKind::io, "unable to append to " + file);
}

}  // namespace

PgCluster::PgCluster(Options options) : options_(std::move(options)), dir_("pgdr-pg") {
  install_crash_cleanup();
  major_ = options_.major.value_or(kDefaultMajor);
  data_dir_ = dir_.file("data");
  config_file_ = data_dir_ + "/postgresql.conf";
  dir_.make_dir("sock");

  std::vector<std::string> initdb = {server_bin("initdb"), "-k",          "-A",      "trust", "-U", "postgres",
                                     "-E",          "UTF8",        "--locale=C", "--no-sync", "-D", data_dir_};
  initdb.insert(initdb.end(), options_.initdb_args.begin(), options_.initdb_args.end());
  const ProcessResult r = run_server(initdb);
  if (r.exit_code != 0) {
    throw Error(ErrorKind::postgres, "initdb failed in " + data_dir_ + " (exit " + std::to_string(r.exit_code) +
                                         "): " + trim(r.err));
  }
  pick_port();
  write_harness_config(config_file_);
  if (options_.start) start();
}

PgCluster::PgCluster(Adopt existing, Options options) : options_(std::move(options)), dir_("pgdr-pg") {
  install_crash_cleanup();
  adopted_ = true;
  data_dir_ = std::filesystem::absolute(existing.data_dir).lexically_normal().string();
  while (data_dir_.size() > 1 && data_dir_.back() == '/') data_dir_.pop_back();
  if (::access((data_dir_ + "/PG_VERSION").c_str(), F_OK) != 0) {
    throw Error(ErrorKind::not_found, "not a PostgreSQL data directory: " + data_dir_);
  }
  major_ = std::atoi(trim(read_text(data_dir_ + "/PG_VERSION")).c_str());
  if (options_.major && *options_.major != major_) {
    throw Error(ErrorKind::internal, "the data directory " + data_dir_ + " is PostgreSQL " + std::to_string(major_) +
                                         "'s, not " + std::to_string(*options_.major) + "'s");
  }
  config_file_ = data_dir_ + "/postgresql.auto.conf";
  dir_.make_dir("sock");
  // PostgreSQL insists on owning its data directory and on mode 0700 (or 0750).
  give_to_server_user(data_dir_);
  if (::chmod(data_dir_.c_str(), 0700) != 0) throw_errno("unable to change mode of", data_dir_, errno);
  pick_port();
  write_harness_config(config_file_);
  // start() leaves no server behind when it throws, so a throwing constructor leaks nothing.
  if (options_.start) start();
}

PgCluster::~PgCluster() {
  if (running()) {
    const pid_t pid = postmaster_pid_;
    try {
      run_server({server_bin("pg_ctl"), "-D", data_dir_, "-m", "immediate", "-w", "-t", "30", "stop"});
    } catch (...) {
      // Fall through to SIGKILL.
    }
    if (!reap_groups({pid}, std::chrono::seconds(10))) reap_groups(crash_server(pid), std::chrono::seconds(10));
    forget_postmaster();
  }
  // After kill9() (or a crash) without a restart the server's System V segment outlives it: the
  // next postmaster on this directory would remove it, but this directory has no next postmaster.
  // postmaster.pid line 7 holds "key id".
  std::ifstream pidfile(data_dir_ + "/postmaster.pid");
  std::string line;
  for (int n = 1; n <= 7 && std::getline(pidfile, line); ++n) {
    if (n != 7) continue;
    std::istringstream fields(line);
    long key = 0;
    long id = -1;
    shmid_ds ds{};
    if (fields >> key >> id && id >= 0 && ::shmctl(static_cast<int>(id), IPC_STAT, &ds) == 0 &&
        ds.shm_perm.__key == static_cast<key_t>(key) && ds.shm_nattch == 0) {
      ::shmctl(static_cast<int>(id), IPC_RMID, nullptr);
    }
  }
}

void PgCluster::pick_port() {
  // Port 0 makes the kernel choose a free port; PostgreSQL binds it a moment later. Another
  // process may take it in between: start() then picks again.
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw_errno("unable to create a socket", "127.0.0.1", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, kLoopback, &addr.sin_addr);
  socklen_t len = sizeof addr;
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(s);
    throw_errno("unable to find a free port on", kLoopback, err);
  }
  ::close(s);
  port_ = ntohs(addr.sin_port);
}

void PgCluster::write_harness_config(const std::string& file) {
  std::ostringstream conf;
  conf << "\n# pgdr test harness\n"
       << "listen_addresses = '" << kLoopback << "'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = " << quote_setting(socket_dir()) << "\n"
       << "wal_level = replica\n"
       << "fsync = on\n"
       << "shared_buffers = 64MB\n"
       << "max_wal_senders = 4\n"
       << "max_replication_slots = 4\n"
       << "logging_collector = off\n";
  if (options_.archive_command.empty()) {
    conf << "archive_mode = off\n";
  } else {
    conf << "archive_mode = on\n"
         << "archive_command = " << quote_setting(options_.archive_command) << "\n";
  }
  for (const std::string& line : options_.settings) conf << line << "\n";
  append_line(file, conf.str());
  give_to_server_user(file);
}

void PgCluster::append_config(const std::string& line) {
  append_line(config_file_, line + "\n");
  give_to_server_user(config_file_);
}

std::string PgCluster::socket_dir() const { return dir_.file("sock"); }
std::string PgCluster::log_path() const { return dir_.file("postgres.log"); }
std::string PgCluster::log() const { return read_text(log_path()); }

std::string PgCluster::log_since(std::size_t offset) const {
  const std::string all = log();
  return offset < all.size() ? all.substr(offset) : std::string();
}

std::string PgCluster::conninfo(const std::string& db) const {
  return "host=" + std::string(kLoopback) + " port=" + std::to_string(port_) + " dbname=" + db + " user=postgres";
}

void PgCluster::read_postmaster_pid() {
  std::ifstream in(data_dir_ + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return;
  // A postmaster.pid left by a crash may name a pid since reused by something else: only adopt a
  // live process called postgres.
  const ProcStat st = proc_stat(static_cast<pid_t>(pid));
  if (st.state == 0 || st.state == 'Z' || st.comm != "postgres") return;
  postmaster_pid_ = static_cast<pid_t>(pid);
  register_postmaster(postmaster_pid_);
}

void PgCluster::forget_postmaster() {
  if (postmaster_pid_ > 0) unregister_postmaster(postmaster_pid_);
  postmaster_pid_ = 0;
}

void PgCluster::start() {
  if (running()) throw Error(ErrorKind::internal, "PostgreSQL is already running in " + data_dir_);
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    const std::size_t offset = log().size();
    std::vector<std::string> env = {"LC_ALL=C"};
    env.insert(env.end(), options_.server_env.begin(), options_.server_env.end());
    const ProcessResult r = run_as_server_user({server_bin("pg_ctl"), "-D", data_dir_, "-l", log_path(), "-w", "-t",
                                                std::to_string(options_.start_timeout_seconds), "start"},
                                               {}, env);
    read_postmaster_pid();
    if (r.exit_code == 0 && running()) return;

    const std::string tail = log_since(offset);
    if (running()) {
      // Started but never became ready in time: do not leave it behind.
      const pid_t pid = postmaster_pid_;
      reap_groups(crash_server(pid), std::chrono::seconds(10));
      forget_postmaster();
    }
    const bool port_taken = tail.find("Address already in use") != std::string::npos;
    if (port_taken && attempt < kAttempts) {
      pick_port();
      append_config("port = " + std::to_string(port_));
      continue;
    }
    throw Error(ErrorKind::postgres, "unable to start PostgreSQL in " + data_dir_ + " on port " +
                                         std::to_string(port_) + " (pg_ctl exit " + std::to_string(r.exit_code) +
                                         "): " + trim(r.err) + "\nserver log:\n" + trim(tail));
  }
}

void PgCluster::stop(const std::string& mode) {
  if (!running()) return;
  const pid_t pid = postmaster_pid_;
  const ProcessResult r = run_server({server_bin("pg_ctl"), "-D", data_dir_, "-m", mode, "-w", "-t", "120", "stop"});
  if (r.exit_code != 0) {
    throw Error(ErrorKind::postgres, "unable to stop PostgreSQL in " + data_dir_ + " (" + mode + " mode): " + trim(r.err));
  }
  // pg_ctl returns once postmaster.pid is gone; the process may need a moment more to exit.
  if (!reap_groups({pid}, std::chrono::seconds(30))) {
    throw Error(ErrorKind::postgres, "PostgreSQL in " + data_dir_ + " still runs after pg_ctl stop");
  }
  forget_postmaster();
}

void PgCluster::kill9() {
  if (!running()) throw Error(ErrorKind::internal, "kill9: PostgreSQL is not running in " + data_dir_);
  const pid_t pid = postmaster_pid_;
  if (!reap_groups(crash_server(pid), std::chrono::seconds(30))) {
    throw Error(ErrorKind::postgres, "PostgreSQL in " + data_dir_ + " survived SIGKILL");
  }
  forget_postmaster();
}

void PgCluster::restart() {
  stop("fast");
  start();
}

void PgCluster::reload() {
  const ProcessResult r = run_server({server_bin("pg_ctl"), "-D", data_dir_, "reload"});
  if (r.exit_code != 0) throw Error(ErrorKind::postgres, "unable to reload PostgreSQL in " + data_dir_ + ": " + trim(r.err));
}

std::string PgCluster::psql(const std::string& sql, const std::string& db) const {
  const ProcessResult r = run_server({bin("psql"), "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", kLoopback, "-p",
                                      std::to_string(port_), "-U", "postgres", "-d", db, "-f", "-"},
                                     sql);
  if (r.exit_code != 0) {
    throw Error(ErrorKind::postgres, "psql on port " + std::to_string(port_) + " failed (exit " +
                                         std::to_string(r.exit_code) + "): " + trim(r.err));
  }
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

ProcessResult PgCluster::run_as_server_user(const std::vector<std::string>& argv, const std::string& stdin_data,
                                            const std::vector<std::string>& extra_env) {
  return test::run_as_server_user(argv, stdin_data, extra_env);
}

std::string PgCluster::bin(const std::string& program) { return std::string(kDebianBinDir) + "/" + program; }

std::string PgCluster::server_bindir(int major) {
  std::string dir;
  if (major == 15) {
    dir = kDebianBinDir;
  } else {
    const char* cache = std::getenv("PGDR_PG_CACHE");
    dir = std::string(cache != nullptr && *cache != '\0' ? cache : kPgCacheDefault) + "/" + std::to_string(major) + "/bin";
  }
  for (const char* program : {"initdb", "pg_ctl", "postgres"}) {
    const std::string path = dir + "/" + program;
    if (::access(path.c_str(), X_OK) != 0) {
      // In the message itself, not a hint: a test that fails on it shows only what().
      throw Error(ErrorKind::not_found, "PostgreSQL " + std::to_string(major) + " server programs are missing: " + path +
                                            " (" + std::strerror(errno) +
                                            "); run .ci/deps.sh, which installs PostgreSQL 14, 16, 17 and 18 "
                                            "into $PGDR_PG_CACHE (default " + kPgCacheDefault + ")");
    }
  }
  return dir;
}

std::string PgCluster::server_bin(const std::string& program) const { return server_bindir(major_) + "/" + program; }

const std::string& PgCluster::server_user() { return test::server_user(); }

}  // namespace pgdr::test
