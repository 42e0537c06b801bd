#include "pg/scratch_server.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/process.h"
#include "core/subprocess.h"
#include "pg/connection.h"
#include "pg/setting_literal.h"

namespace pgdr::pg {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

ScratchServer::ScratchServer(ScratchServerOptions options) : options_(std::move(options)) {
  user_ = server_user(options_.server_user);
  std::string parent = options_.parent_dir;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = tmp && *tmp == '/' ? tmp : "/tmp";
  }
  make_directories(parent, 0755);
  std::string pattern = parent + "/" + options_.name_prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("unable to create a directory for the scratch server in", parent, errno);
  root_ = pattern;
  data_dir_ = root_ + "/data";
  socket_dir_ = root_ + "/socket";
  try {
    make_directories(socket_dir_, 0700);
    pick_port();
  } catch (...) {
    remove_tree(root_);
    throw;
  }
}

ScratchServer::~ScratchServer() {
  stop();
  if (keep_) return;
  try {
    remove_tree(root_);
  } catch (...) {
    // A directory left in the DR path is reported by the next drill's prepare phase, not here.
  }
}

void ScratchServer::pick_port() { port_ = free_loopback_port(); }

void ScratchServer::write_settings() {
  if (::access((data_dir_ + "/postgresql.conf").c_str(), F_OK) != 0) {
    // Debian keeps postgresql.conf in /etc: the copy of such a cluster has none, and the server
    // needs one to start.
    write_file_durably(data_dir_ + "/postgresql.conf", as_bytes("# written by pgdr for a restored copy\n"), 0600);
  }
  std::string hba = "# pgdr: its own checks over the private socket directory\nlocal all all trust\n";
  std::string source_hba = slurp(data_dir_ + "/pg_hba.conf");
  if (!source_hba.empty()) hba += "# the source cluster's rules\n" + source_hba;
  write_file_durably(root_ + "/pg_hba.conf", as_bytes(hba), 0600);

  std::string conf = slurp(data_dir_ + "/postgresql.auto.conf");
  if (!conf.empty() && conf.back() != '\n') conf += "\n";
  conf += "# pgdr scratch server: later lines win\n";
  conf += "port = " + std::to_string(port_) + "\n";
  conf += "listen_addresses = '127.0.0.1'\n";
  conf += "unix_socket_directories = " + setting_literal(socket_dir_) + "\n";
  conf += "hba_file = " + setting_literal(root_ + "/pg_hba.conf") + "\n";
  conf += "archive_mode = off\n";
  conf += "archive_command = ''\n";
  conf += "synchronous_standby_names = ''\n";
  conf += "ssl = off\n";
  conf += "logging_collector = off\n";
  conf += "hot_standby = on\n";
  conf += "cluster_name = 'pgdr-scratch'\n";
  write_file_durably(data_dir_ + "/postgresql.auto.conf", as_bytes(conf), 0600);
}

void ScratchServer::start(std::chrono::milliseconds timeout) {
  programs_ = find_server_programs(data_directory_major(data_dir_), options_.pg_bindir);
  const std::string pg_ctl = programs_.program("pg_ctl");
  if (::chmod(data_dir_.c_str(), 0700) != 0) throw_errno("unable to change mode of", data_dir_, errno);
  for (int attempt = 0;; ++attempt) {
    write_settings();
    give_to(user_, root_);
    std::vector<std::string> env = options_.server_env;
    env.push_back("LC_ALL=C");
    const long seconds = std::max<long>(1, static_cast<long>((timeout.count() + 999) / 1000));
    ProcessResult r = run_process(
        as_user(user_, {pg_ctl, "-D", data_dir_, "-l", log_path(), "-w", "-t", std::to_string(seconds), "start"}), {},
        env);
    read_postmaster_pid();
    if (r.exit_code == 0 && running()) return;
    stop();
    const std::string tail = log_tail(3);
    if (attempt < 2 && tail.find("could not bind") != std::string::npos) {
      pick_port();
      continue;
    }
    throw Error(ErrorKind::postgres, "the restored cluster in " + data_dir_ + " did not start (" +
                                         (tail.empty() ? trim(r.err) : tail) + ")",
                "its server log is " + log_path());
  }
}

void ScratchServer::read_postmaster_pid() {
  std::ifstream in(data_dir_ + "/postmaster.pid");
  long pid = 0;
  postmaster_pid_ = (in >> pid && pid > 0 && process_alive(static_cast<pid_t>(pid))) ? static_cast<pid_t>(pid) : 0;
}

void ScratchServer::wait_promoted(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error;
  while (true) {
    throw_if_interrupted();
    if (!process_alive(postmaster_pid_)) {
      postmaster_pid_ = 0;
      throw Error(ErrorKind::postgres, "the restored cluster in " + data_dir_ + " stopped during recovery (" +
                                           log_tail(3) + ")",
                  "its server log is " + log_path());
    }
    try {
      Connection c(conninfo());
      if (c.query("SELECT pg_is_in_recovery()").scalar() == "f") return;
    } catch (const Error& e) {
      last_error = e.what();
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(ErrorKind::postgres, "the restored cluster in " + data_dir_ + " was still recovering after " +
                                           std::to_string(timeout.count() / 1000) + " s" +
                                           (last_error.empty() ? "" : " (" + last_error + ")"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ScratchServer::stop() noexcept {
  if (postmaster_pid_ <= 0) return;
  const pid_t pid = postmaster_pid_;
  try {
    const std::string pg_ctl = programs_.program("pg_ctl");
    for (const char* mode : {"fast", "immediate"}) {
      ProcessResult r = run_process(as_user(user_, {pg_ctl, "-D", data_dir_, "-m", mode, "-w", "-t", "30", "stop"}), {},
                                    {"LC_ALL=C"});
      if (r.exit_code == 0 && !process_alive(pid)) break;
    }
  } catch (...) {
    // Fall through to SIGKILL.
  }
  for (int i = 0; i < 100 && process_alive(pid); ++i) {
    if (i == 50) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  postmaster_pid_ = 0;
}

std::string ScratchServer::conninfo(const std::string& dbname) const {
  return "host=" + socket_dir_ + " port=" + std::to_string(port_) + " user=" + options_.superuser +
         " dbname=" + dbname + " connect_timeout=10";
}

std::vector<std::string> ScratchServer::libpq_env(const std::string& dbname) const {
  return {"PGHOST=" + socket_dir_, "PGPORT=" + std::to_string(port_), "PGUSER=" + options_.superuser,
          "PGDATABASE=" + dbname};
}

std::string ScratchServer::log_tail(std::size_t lines) const {
  std::string log = slurp(log_path());
  std::vector<std::string> all;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += all[i];
  }
  return out;
}

}  // namespace pgdr::pg
