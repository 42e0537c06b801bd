#include "daemon/daemon.h"

#include <httplib.h>
#include <syslog.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "catalog/catalog.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "core/time_format.h"
#include "daemon/cron.h"
#include "daemon/http_auth.h"
#include "daemon/http_routes.h"
#include "daemon/http_server.h"
#include "daemon/job_process.h"
#include "daemon/service_notify.h"
#include "daemon/status.h"

namespace pgdr::daemon {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class Logger {
 public:
  explicit Logger(bool use_syslog) : syslog_(use_syslog) {
    if (syslog_) openlog("pgdr", LOG_PID, LOG_DAEMON);
  }
  ~Logger() {
    if (syslog_) closelog();
  }
  // -q keeps only failures, as for every command.
  void info(const std::string& line) {
    if (!log_quiet()) write(LOG_INFO, line);
  }
  void error(const std::string& line) { write(LOG_ERR, line); }

 private:
  void write(int priority, const std::string& line) {
    std::string out = "pgdr daemon: " + iso8601_ms(std::chrono::system_clock::now()) + " " + line + "\n";
    std::lock_guard lock(mu_);
    std::fputs(out.c_str(), stderr);
    std::fflush(stderr);
    if (syslog_) ::syslog(priority, "%s", line.c_str());
  }
  bool syslog_;
  std::mutex mu_;
};

struct Job {
  JobKind kind{};
  Schedule schedule;
  SystemTime next_due = SystemTime::max();
  std::unique_ptr<JobProcess> proc;
  std::string unavailable;  // why this binary cannot run the job ("" when it can)
  SystemTime started{};
  Clock::time_point started_steady{};
};

// What a failed job said: its last "pgdr: " line that is neither a warning nor a debug line (the
// error, before any HINT), else its last line.
std::string last_line(const std::string& output) {
  std::string last, last_pgdr;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \r") == std::string::npos) continue;
    last = line;
    if (line.starts_with("pgdr: ") && !line.starts_with("pgdr: warning: ") && !line.starts_with("pgdr: debug: "))
      last_pgdr = line;
  }
  return last_pgdr.empty() ? last : last_pgdr;
}

// Every result result_of can give a job of kind k.
std::vector<const char*> job_results(const JobKind& k) {
  if (!k.check) return {"ok", "error", "interrupted"};
  return {"pass", "warn", "fail", "error", "interrupted"};
}

std::string result_of(const JobKind& k, int code, bool stopping) {
  if (stopping && code != 0) return "interrupted";
  if (!k.check) return code == 0 ? "ok" : "error";
  switch (code) {
    case 0:
      return "pass";
    case 1:
      return "warn";
    case 2:
      return "fail";
    default:
      return "error";
  }
}

// The time each job last started, kept so that a restarted daemon runs what it missed.
class StateFile {
 public:
  explicit StateFile(std::string path) : path_(std::move(path)) {
    auto bytes = read_file(path_);
    if (!bytes) return;
    try {
      json j = json::parse(as_chars(*bytes));
      if (j.is_object() && j.contains("last_started") && j["last_started"].is_object()) {
        const json& started = j["last_started"];
        for (auto it = started.begin(); it != started.end(); ++it)
          if (it.value().is_string())
            if (auto t = parse_iso8601(it.value().get<std::string>())) last_started_[it.key()] = *t;
      }
    } catch (const std::exception&) {
      // A damaged state file costs one catch-up decision, nothing more: start as if new.
    }
  }
  std::optional<SystemTime> last_started(const std::string& job) const {
    auto it = last_started_.find(job);
    return it == last_started_.end() ? std::nullopt : std::optional(it->second);
  }
  void set_started(const std::string& job, SystemTime t) {
    last_started_[job] = t;
    json j;
    for (const auto& [k, v] : last_started_) j["last_started"][k] = iso8601_ms(v);
    std::string text = j.dump(2) + "\n";
    make_directories(parent_directory(path_), 0700);
    write_file_durably(path_, as_bytes(text), 0600);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, SystemTime> last_started_;
};

// Tells the service manager that asked (socket_address from take_notify_socket(), "" for none)
// about the daemon's state; see service_notify.h.
void notify(Logger& log, const std::string& socket_address, const std::string& state) {
  if (socket_address.empty()) return;
  try {
    send_service_notification(socket_address, state);
  } catch (const Error& e) {
    log.error(e.what());
  }
}

std::pair<std::string, int> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    throw Error(ErrorKind::config, "invalid [daemon] listen '" + listen + "' (expected HOST:PORT)");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    std::size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw Error(ErrorKind::config, "invalid [daemon] listen '" + listen + "' (the port is not a number)");
  }
  if (port < 0 || port > 65535)
    throw Error(ErrorKind::config, "invalid [daemon] listen '" + listen + "' (port out of range)");
  return {host, port};
}

}  // namespace

const std::vector<JobKind>& job_kinds() {
  static const std::vector<JobKind> kinds = {
      {"backup", {"backup"}, false}, {"expire", {"expire"}, false},
      {"verify", {"verify"}, true},  {"restore_test", {"verify", "--restore-test"}, true},
      {"drill", {"drill"}, true},    {"measure", {"measure"}, true},
  };
  return kinds;
}

const std::string& schedule_text(const ScheduleConfig& s, const std::string& job) {
  if (job == "backup") return s.backup;
  if (job == "expire") return s.expire;
  if (job == "verify") return s.verify;
  if (job == "restore_test") return s.restore_test;
  if (job == "drill") return s.drill;
  return s.measure;
}

int run_daemon(const Config& config, const DaemonOptions& options, std::vector<repo::Repository> repos) {
  Logger log(options.syslog);
  const std::string notify_socket = take_notify_socket();  // before any thread or job starts

  // ---- schedules and catch-up ------------------------------------------------------------------
  StateFile state(config.daemon.state_file.empty() ? catalog::catalog_path(config) + ".daemon.json"
                                                   : config.daemon.state_file);
  std::vector<Job> jobs;
  const SystemTime start = std::chrono::system_clock::now();
  for (const auto& k : job_kinds()) {
    const std::string& text = schedule_text(config.schedule, k.name);
    if (text.empty()) continue;
    Schedule s = [&] {
      try {
        return Schedule::parse(text);
      } catch (const Error& e) {
        throw Error(ErrorKind::config, std::string("[schedule] ") + k.name + ": " + e.what(), e.hint());
      }
    }();
    if (s.after_backup() && std::string(k.name) != "expire")
      throw Error(ErrorKind::config, std::string("[schedule] ") + k.name + ": \"after backup\" is for expire only");
    Job job;
    job.kind = k;
    job.schedule = s;
    // A job whose command this binary lacks (a build without `expire`, say) stays scheduled and
    // fails clearly at each slot, rather than running something that exits with a parse error.
    // (`pgdr help COMMAND`: `pgdr COMMAND --help` succeeds for any word, the global --help answering.)
    try {
      if (run_process({options.pgdr_binary, "help", k.args.front()}).exit_code != 0)
        job.unavailable = "this pgdr has no '" + k.args.front() + "' command";
    } catch (const Error& e) {
      job.unavailable = e.what();
    }
    if (!job.unavailable.empty()) log.error("job " + std::string(k.name) + " cannot run: " + job.unavailable);
    if (!s.after_backup()) {
      auto last = state.last_started(k.name);
      SystemTime first = last ? s.next_after(*last) : s.next_after(start);
      if (last && first <= start) {
        // Missed while the daemon was down: once now, however many slots were missed.
        log.info("job " + std::string(k.name) + " missed its slot at " + iso8601(first) + " (last started " +
                 iso8601(*last) + "): running it once now");
        first = start;
      }
      job.next_due = first;
      log.info("job " + std::string(k.name) + " scheduled '" + text + "' (UTC), next at " + iso8601(first));
    } else {
      log.info("job " + std::string(k.name) + " runs after each successful backup");
    }
    jobs.push_back(std::move(job));
  }
  if (jobs.empty()) log.info("no job scheduled ([schedule] is empty): serving metrics and the dashboard only");

  // ---- shared state and the HTTP server ---------------------------------------------------------
  std::mutex stats_mu;
  JobStats stats;
  for (const auto& j : jobs) {
    if (std::string(j.kind.name) == "backup")
      stats.backup_period_seconds["backup"] = j.schedule.period_near(start).count();
    // Every counter of a scheduled job exists from 0, so that rate() and increase() see its first
    // event as an increase rather than the birth of a series (Prometheus's advice for counters).
    for (const char* result : job_results(j.kind)) stats.runs[{j.kind.name, result}] = 0;
    stats.skipped[j.kind.name] = 0;
  }
  std::mutex repos_mu;
  std::vector<const repo::Repository*> repo_ptrs;
  for (const auto& r : repos) repo_ptrs.push_back(&r);
  auto status_now = [&] {
    Status st;
    {
      std::lock_guard lock(repos_mu);
      st = gather_status(config, repo_ptrs);
    }
    std::lock_guard lock(stats_mu);
    st.jobs = stats;
    return st;
  };

  // The token and the TLS key are read before anything is served, so that a bad one stops the
  // start (exit 2) rather than a request.
  std::optional<BearerToken> token;
  std::optional<TlsContext> tls;
  if (!config.daemon.listen.empty()) {
    token = BearerToken::from_config(config.daemon);
    if (!config.daemon.tls_cert_file.empty()) tls.emplace(config.daemon.tls_cert_file, config.daemon.tls_key_file);
  }
  HttpServer http(http_limits(config.daemon), std::move(tls), [&log](const std::string& line) { log.error(line); });
  std::thread http_thread;
  std::string serving;  // the URL served, for the service manager's status line
  if (!config.daemon.listen.empty()) {
    auto [host, port] = split_listen(config.daemon.listen);
    add_http_routes(http, config, token ? &*token : nullptr, status_now, [&http] { return http.stats(); });
    const int bound = http.bind(host, port);
    if (bound < 0)
      throw Error(ErrorKind::io, "unable to listen on " + config.daemon.listen + " for /metrics and /health",
                  "another process may hold the port; set [daemon] listen");
    std::string access = token ? (config.daemon.health_auth ? "; a bearer token is required on every page"
                                                            : "; a bearer token is required on every page but /health")
                               : "";
    serving = std::string(http.tls() ? "https" : "http") + "://" + host + ":" + std::to_string(bound) + "/";
    log.info("listening on " + serving + " (metrics at /metrics, health at /health" + access + ")");
    http_thread = std::thread([&http] { http.listen_after_bind(); });
  }
  // Type=notify (the packaged unit): the start is complete once the port is bound, since connections
  // queue from then on, and the schedule is loaded; systemd starts what is ordered after the unit
  // only now. A failure to tell it is logged, not fatal: systemd then fails the start on its timeout.
  notify(log, notify_socket, "READY=1\nSTATUS=running the schedule" + (serving.empty() ? std::string() : ", serving " + serving));

  // ---- the scheduling loop ------------------------------------------------------------------------
  auto find = [&](const std::string& name) -> Job* {
    for (auto& j : jobs)
      if (name == j.kind.name) return &j;
    return nullptr;
  };
  auto running = [&](const std::string& name) {
    Job* j = find(name);
    return j && j->proc;
  };
  auto start_job = [&](Job& j, SystemTime now) {
    std::vector<std::string> argv = {options.pgdr_binary, "--config", options.config_path};
    argv.insert(argv.end(), j.kind.args.begin(), j.kind.args.end());
    j.started = now;
    j.started_steady = Clock::now();
    if (!j.unavailable.empty()) {
      log.error("job " + std::string(j.kind.name) + " cannot run: " + j.unavailable);
      std::lock_guard lock(stats_mu);
      stats.runs[{j.kind.name, "error"}]++;
      stats.last[j.kind.name] = {"error", 127, now, 0, j.unavailable};
      return;
    }
    try {
      j.proc = std::make_unique<JobProcess>(argv);
    } catch (const Error& e) {
      log.error("job " + std::string(j.kind.name) + " could not start: " + e.what());
      std::lock_guard lock(stats_mu);
      stats.runs[{j.kind.name, "error"}]++;
      stats.last[j.kind.name] = {"error", 127, now, 0, e.what()};
      return;
    }
    state.set_started(j.kind.name, now);
    log.info("job " + std::string(j.kind.name) + " started (pid " + std::to_string(j.proc->pid()) + ")");
  };
  auto record = [&](const Job& j, const JobOutcome& o, const std::string& output) {
    // Check commands record their own run with their full report; the daemon records the action
    // commands (backup, expire), so that every result is in one history.
    if (j.kind.check) return;
    try {
      catalog::RunRecord run;
      run.kind = j.kind.name;
      run.cluster = config.cluster.name;
      run.started = j.started;
      run.seconds = o.seconds;
      run.result = o.exit_code == 0 ? "OK" : "ERROR";
      json report = {{"kind", j.kind.name},
                     {"cluster", config.cluster.name},
                     {"started_at", iso8601_ms(j.started)},
                     {"seconds", o.seconds},
                     {"result", run.result},
                     {"exit_code", o.exit_code},
                     {"daemon_result", o.result},
                     {"output", output.size() > 4000 ? output.substr(output.size() - 4000) : output}};
      if (std::string(j.kind.name) == "backup" && o.exit_code == 0) {
        // backup prints its id alone on stdout; its stderr lines share the pipe, so find the id's shape.
        static const std::regex kId(R"((^|\n)(\d{8}T\d{6}\.\d{3}Z-[0-9a-f]+)\n)");
        std::smatch m;
        std::string id;
        if (std::regex_search(output, m, kId)) id = m[2].str();
        report["snapshot"] = id;
      }
      run.report_json = report.dump();
      catalog::Catalog::open(catalog::catalog_path(config)).record_run(run);
    } catch (const Error& e) {
      log.error("job " + std::string(j.kind.name) + ": unable to record its result in the catalog (" + e.what() + ")");
    }
  };
  auto reap = [&](bool stopping) {
    for (auto& j : jobs) {
      if (!j.proc) continue;
      auto code = j.proc->poll();
      if (!code) continue;
      const std::string output = j.proc->output();
      JobOutcome o;
      o.exit_code = *code;
      o.result = result_of(j.kind, *code, stopping);
      o.ended = std::chrono::system_clock::now();
      o.seconds = std::chrono::duration<double>(Clock::now() - j.started_steady).count();
      if (*code != 0) o.last_line = last_line(output);
      j.proc.reset();
      std::string line = "job " + std::string(j.kind.name) + " ended: " + o.result + " (exit " + std::to_string(*code) +
                         ") after " + format_seconds(o.seconds);
      if (!o.last_line.empty()) line += ": " + o.last_line;
      (o.result == "error" || o.result == "fail") ? log.error(line) : log.info(line);
      {
        std::lock_guard lock(stats_mu);
        stats.runs[{j.kind.name, o.result}]++;
        stats.last[j.kind.name] = o;
      }
      record(j, o, output);
      if (!stopping && std::string(j.kind.name) == "backup" && *code == 0)
        if (Job* e = find("expire"); e && e->schedule.after_backup()) e->next_due = std::chrono::system_clock::now();
    }
  };

  while (!interrupt_requested()) {
    reap(false);
    const SystemTime now = std::chrono::system_clock::now();
    for (auto& j : jobs) {
      if (j.next_due > now) continue;
      const std::string name = j.kind.name;
      if (j.proc) {
        // Never two of the same job: this slot is skipped; the next one is the schedule's next.
        log.info("job " + name + " still running (pid " + std::to_string(j.proc->pid()) + "): slot at " +
                 iso8601(j.next_due) + " skipped");
        {
          std::lock_guard lock(stats_mu);
          stats.skipped[name]++;
        }
        j.next_due = j.schedule.after_backup() ? SystemTime::max() : j.schedule.next_after(now);
        continue;
      }
      // backup and expire both write the repository under its lock: one waits for the other.
      if ((name == "backup" && running("expire")) || (name == "expire" && running("backup"))) continue;
      start_job(j, now);
      if (j.schedule.after_backup()) {
        j.next_due = SystemTime::max();
      } else {
        // From the slot itself, so "@every" does not drift by the loop's lateness; from now when
        // that is already past (a catch-up run, or a slot kept waiting by the other writer).
        SystemTime next = j.schedule.next_after(j.next_due);
        j.next_due = next > now ? next : j.schedule.next_after(now);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // ---- stopping -----------------------------------------------------------------------------------
  log.info("stopping: no new job starts; the running ones are told to stop (SIGTERM)");
  notify(log, notify_socket, "STOPPING=1\nSTATUS=stopping: waiting for the running jobs to roll back and end");
  for (auto& j : jobs)
    if (j.proc) {
      log.info("job " + std::string(j.kind.name) + " (pid " + std::to_string(j.proc->pid()) + ") told to stop");
      j.proc->terminate();
    }
  for (auto& j : jobs)
    if (j.proc) j.proc->wait();
  reap(true);
  if (http_thread.joinable()) {
    http.stop();
    http_thread.join();
  }
  log.info("stopped");
  return 0;
}

}  // namespace pgdr::daemon
