#include "daemon/daemon.h"

#include <httplib.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "catalog/catalog.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/subprocess.h"
#include "core/time_format.h"
#include "daemon/cron.h"
#include "daemon/daemon_log.h"
#include "daemon/http_auth.h"
#include "daemon/http_routes.h"
#include "daemon/http_server.h"
#include "daemon/job_process.h"
#include "daemon/job_record.h"
#include "daemon/job_round.h"
#include "daemon/service_notify.h"
#include "daemon/state_file.h"
#include "daemon/status.h"

namespace pgdr::daemon {

namespace {

using Clock = std::chrono::steady_clock;

// A job of [schedule]: when it is next due, and the round in hand (job_round.h) with the process of
// its current task.
struct Job {
  JobKind kind{};
  Schedule schedule;
  SystemTime next_due = SystemTime::max();
  std::string unavailable;  // why this binary cannot run the job ("" when it can)
  std::optional<JobRound> round;
  Clock::time_point round_started{};
  bool round_in_state = false;  // the round's start is in the state file
  std::unique_ptr<JobProcess> proc;  // the current task's, null between tasks
  TaskRun task;                      // the current task: its repository and start
  Clock::time_point task_started{};

  std::string name() const { return kind.name; }
  bool running() const { return round.has_value(); }
};

// Tells the service manager that asked (socket_address from take_notify_socket(), "" for none)
// about the daemon's state; see service_notify.h.
void notify(DaemonLog& log, const std::string& socket_address, const std::string& state) {
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

Schedule parse_schedule(const JobKind& k, const std::string& text) {
  Schedule s = [&] {
    try {
      return Schedule::parse(text);
    } catch (const Error& e) {
      throw Error(ErrorKind::config, std::string("[schedule] ") + k.name + ": " + e.what(), e.hint());
    }
  }();
  if (s.after_backup() && std::string(k.name) != "expire")
    throw Error(ErrorKind::config, std::string("[schedule] ") + k.name + ": \"after backup\" is for expire only");
  return s;
}

// "job verify" or "job verify for repository 'a'": how the log names a task.
std::string task_name(const Job& j) {
  std::string name = "job " + j.name();
  if (j.round && j.round->per_repository()) name += " for repository '" + j.task.repository + "'";
  return name;
}

// The schedule, the jobs' processes and the HTTP server of one `pgdr daemon`, from its start to its
// stop. run() sequences the phases; the members are what they share.
class Daemon {
 public:
  Daemon(const Config& config, const DaemonOptions& options, std::vector<repo::Repository> repos)
      : config_(config),
        options_(options),
        repos_(std::move(repos)),
        log_(options.syslog),
        notify_socket_(take_notify_socket()),  // before any thread or job starts
        state_(config.daemon.state_file.empty() ? catalog::catalog_path(config) + ".daemon.json"
                                                : config.daemon.state_file) {
    for (const auto& r : repos_) repo_ptrs_.push_back(&r);
    for (const auto& r : config.repos) repo_names_.push_back(r.name);
  }
  ~Daemon() { stop_http(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run() {
    load_jobs();
    count_from_zero();
    start_http();
    // Type=notify (the packaged unit): the start is complete once the port is bound, since
    // connections queue from then on, and the schedule is loaded; systemd starts what is ordered
    // after the unit only now. A failure to tell it is logged, not fatal: systemd then fails the
    // start on its timeout.
    notify(log_, notify_socket_,
           "READY=1\nSTATUS=running the schedule" + (serving_.empty() ? std::string() : ", serving " + serving_));
    while (!interrupt_requested()) {
      reap(false);
      const SystemTime now = std::chrono::system_clock::now();
      for (auto& j : jobs_) consider(j, now);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    stop();
    return 0;
  }

 private:
  // ---- schedules and catch-up ------------------------------------------------------------------
  void load_jobs() {
    const SystemTime start = std::chrono::system_clock::now();
    start_ = start;
    for (const auto& k : job_kinds()) {
      const std::string& text = schedule_text(config_.schedule, k.name);
      if (text.empty()) continue;
      Job job;
      job.kind = k;
      job.schedule = parse_schedule(k, text);
      check_available(job);
      schedule_first(job, start);
      jobs_.push_back(std::move(job));
    }
    if (jobs_.empty()) log_.info("no job scheduled ([schedule] is empty): serving metrics and the dashboard only");
  }

  // A job whose command this binary lacks (a build without `expire`, say) stays scheduled and
  // fails clearly at each slot, rather than running something that exits with a parse error.
  // (`pgdr help COMMAND`: `pgdr COMMAND --help` succeeds for any word, the global --help answering.)
  void check_available(Job& j) {
    const std::string& command = j.kind.args.front();
    try {
      if (run_process({options_.pgdr_binary, "help", command}).exit_code != 0)
        j.unavailable = "this pgdr has no '" + command + "' command";
    } catch (const Error& e) {
      j.unavailable = e.what();
    }
    if (!j.unavailable.empty()) log_.error("job " + j.name() + " cannot run: " + j.unavailable);
  }

  void schedule_first(Job& j, SystemTime start) {
    if (j.schedule.after_backup()) {
      log_.info("job " + j.name() + " runs after each successful backup");
      return;
    }
    auto last = state_.last_started(j.name());
    SystemTime first = last ? j.schedule.next_after(*last) : j.schedule.next_after(start);
    if (last && first <= start) {
      // Missed while the daemon was down: once now, however many slots were missed.
      log_.info("job " + j.name() + " missed its slot at " + iso8601(first) + " (last started " + iso8601(*last) +
                "): running it once now");
      first = start;
    }
    j.next_due = first;
    log_.info("job " + j.name() + " scheduled '" + j.schedule.text() + "' (UTC), next at " + iso8601(first));
  }

  // Every counter of a scheduled job exists from 0, so that rate() and increase() see its first
  // event as an increase rather than the birth of a series (Prometheus's advice for counters).
  void count_from_zero() {
    std::lock_guard lock(stats_mu_);
    for (const auto& j : jobs_) {
      if (j.name() == "backup") stats_.backup_period_seconds["backup"] = j.schedule.period_near(start_).count();
      for (const char* result : job_results(j.kind)) stats_.runs[{j.kind.name, result}] = 0;
      stats_.skipped[j.kind.name] = 0;
    }
  }

  // ---- the HTTP server ----------------------------------------------------------------------------
  Status status_now() {
    Status st;
    {
      std::lock_guard lock(repos_mu_);
      st = gather_status(config_, repo_ptrs_);
    }
    std::lock_guard lock(stats_mu_);
    st.jobs = stats_;
    return st;
  }

  // The token and the TLS key are read before anything is served, so that a bad one stops the
  // start (exit 2) rather than a request.
  void start_http() {
    const DaemonConfig& dc = config_.daemon;
    std::optional<TlsContext> tls;
    if (!dc.listen.empty()) {
      token_ = BearerToken::from_config(dc);
      if (!dc.tls_cert_file.empty()) tls.emplace(dc.tls_cert_file, dc.tls_key_file);
    }
    http_ = std::make_unique<HttpServer>(http_limits(dc), std::move(tls),
                                         [this](const std::string& line) { log_.error(line); });
    if (dc.listen.empty()) return;
    auto [host, port] = split_listen(dc.listen);
    add_http_routes(*http_, config_, token_ ? &*token_ : nullptr, [this] { return status_now(); },
                    [this] { return http_->stats(); });
    const int bound = http_->bind(host, port);
    if (bound < 0)
      throw Error(ErrorKind::io, "unable to listen on " + dc.listen + " for /metrics and /health",
                  "another process may hold the port; set [daemon] listen");
    std::string access = token_ ? (dc.health_auth ? "; a bearer token is required on every page"
                                                  : "; a bearer token is required on every page but /health")
                                : "";
    serving_ = std::string(http_->tls() ? "https" : "http") + "://" + host + ":" + std::to_string(bound) + "/";
    log_.info("listening on " + serving_ + " (metrics at /metrics, health at /health" + access + ")");
    http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  }

  void stop_http() {
    if (!http_thread_.joinable()) return;
    http_->stop();
    http_thread_.join();
  }

  // ---- the scheduling loop ------------------------------------------------------------------------
  Job* find(const std::string& name) {
    for (auto& j : jobs_)
      if (name == j.kind.name) return &j;
    return nullptr;
  }
  bool running(const std::string& name) {
    Job* j = find(name);
    return j && j->running();
  }

  void consider(Job& j, SystemTime now) {
    if (j.next_due > now) return;
    if (j.running()) {
      skip_slot(j, now);
      return;
    }
    // backup and expire both write the repository under its lock: one waits for the other.
    const std::string name = j.name();
    if ((name == "backup" && running("expire")) || (name == "expire" && running("backup"))) return;
    start_round(j);
    if (j.schedule.after_backup()) {
      j.next_due = SystemTime::max();
    } else {
      // From the slot itself, so "@every" does not drift by the loop's lateness; from now when
      // that is already past (a catch-up run, or a slot kept waiting by the other writer).
      SystemTime next = j.schedule.next_after(j.next_due);
      j.next_due = next > now ? next : j.schedule.next_after(now);
    }
  }

  // Never two of the same job: this slot is skipped; the next one is the schedule's next.
  void skip_slot(Job& j, SystemTime now) {
    std::string pid = j.proc ? " (pid " + std::to_string(j.proc->pid()) + ")" : "";
    log_.info("job " + j.name() + " still running" + pid + ": slot at " + iso8601(j.next_due) + " skipped");
    {
      std::lock_guard lock(stats_mu_);
      stats_.skipped[j.name()]++;
    }
    j.next_due = j.schedule.after_backup() ? SystemTime::max() : j.schedule.next_after(now);
  }

  void start_round(Job& j) {
    if (!j.unavailable.empty()) {
      log_.error("job " + j.name() + " cannot run: " + j.unavailable);
      std::lock_guard lock(stats_mu_);
      stats_.runs[{j.kind.name, "error"}]++;
      stats_.last[j.kind.name] = {"error", 127, std::chrono::system_clock::now(), 0, j.unavailable};
      return;
    }
    j.round.emplace(j.kind, repo_names_);
    j.round_started = Clock::now();
    j.round_in_state = false;
    start_next_task(j, false);
  }

  // Starts the round's next task whose process starts; ends the round when none is left.
  void start_next_task(Job& j, bool stopping) {
    if (stopping) j.round->abandon();
    while (auto repository = j.round->next_task()) {
      if (start_task(j, *repository)) return;
    }
    if (j.round->done()) end_round(j, stopping);
  }

  // False when the process could not be started: that task has then ended, as an error.
  bool start_task(Job& j, const std::string& repository) {
    const SystemTime now = std::chrono::system_clock::now();
    j.task = TaskRun{repository, now, {}, {}};
    j.task_started = Clock::now();
    std::vector<std::string> argv = {options_.pgdr_binary, "--config", options_.config_path};
    argv.insert(argv.end(), j.kind.args.begin(), j.kind.args.end());
    if (j.round->per_repository()) argv.insert(argv.end(), {"--repo", repository});
    try {
      j.proc = std::make_unique<JobProcess>(argv);
    } catch (const Error& e) {
      // An error of the round, recorded nowhere else: the command did not run.
      log_.error(task_name(j) + " could not start: " + e.what());
      j.task.outcome = {"error", 127, now, 0, e.what()};
      j.round->task_ended(j.task);
      return false;
    }
    if (!j.round_in_state) state_.set_started(j.name(), now);
    j.round_in_state = true;
    log_.info(task_name(j) + " started (pid " + std::to_string(j.proc->pid()) + ")");
    return true;
  }

  void reap(bool stopping) {
    for (auto& j : jobs_) {
      if (!j.proc) continue;
      auto code = j.proc->poll();
      if (!code) continue;
      JobOutcome& o = j.task.outcome;
      o.exit_code = *code;
      o.result = result_of(j.kind, *code, stopping);
      o.ended = std::chrono::system_clock::now();
      o.seconds = std::chrono::duration<double>(Clock::now() - j.task_started).count();
      j.task.output = j.proc->output();
      if (*code != 0) o.last_line = last_line(j.task.output);
      j.proc.reset();
      log_end(task_name(j), o);
      task_ended(j, stopping);
      start_next_task(j, stopping);
    }
  }

  // "job verify ended: fail (exit 2) after 4.1 s: <its error line>", an error line when it failed.
  void log_end(const std::string& who, const JobOutcome& o) {
    std::string line = who + " ended: " + o.result + " (exit " + std::to_string(o.exit_code) + ") after " +
                       format_seconds(o.seconds);
    if (!o.last_line.empty()) line += ": " + o.last_line;
    (o.result == "error" || o.result == "fail") ? log_.error(line) : log_.info(line);
  }

  void task_ended(Job& j, bool stopping) {
    j.round->task_ended(j.task);
    try {
      if (!j.kind.check)
        record_action_run(config_, j.name(), j.task);
      else if (j.round->per_repository() && j.task.outcome.result == "error" && !stopping)
        record_unverified(config_, j.task);
    } catch (const Error& e) {
      log_.error(task_name(j) + ": unable to record its result in the catalog (" + e.what() + ")");
    }
  }

  void end_round(Job& j, bool stopping) {
    const double seconds = std::chrono::duration<double>(Clock::now() - j.round_started).count();
    const JobOutcome o = j.round->outcome(std::chrono::system_clock::now(), seconds);
    const bool per_repository = j.round->per_repository();
    j.round.reset();
    if (per_repository) log_end("job " + j.name(), o);  // a single task's line was the job's
    {
      std::lock_guard lock(stats_mu_);
      stats_.runs[{j.kind.name, o.result}]++;
      stats_.last[j.kind.name] = o;
    }
    if (!stopping && j.name() == "backup" && o.exit_code == 0)
      if (Job* e = find("expire"); e && e->schedule.after_backup()) e->next_due = std::chrono::system_clock::now();
  }

  // ---- stopping -----------------------------------------------------------------------------------
  void stop() {
    log_.info("stopping: no new job starts; the running ones are told to stop (SIGTERM)");
    notify(log_, notify_socket_, "STOPPING=1\nSTATUS=stopping: waiting for the running jobs to roll back and end");
    for (auto& j : jobs_)
      if (j.proc) {
        log_.info(task_name(j) + " (pid " + std::to_string(j.proc->pid()) + ") told to stop");
        j.proc->terminate();
      }
    for (auto& j : jobs_)
      if (j.proc) j.proc->wait();
    reap(true);
    stop_http();
    log_.info("stopped");
  }

  const Config& config_;
  const DaemonOptions& options_;
  std::vector<repo::Repository> repos_;
  DaemonLog log_;
  const std::string notify_socket_;
  StateFile state_;
  SystemTime start_{};
  std::vector<Job> jobs_;
  std::vector<std::string> repo_names_;  // the configured repositories, for the per-repository jobs

  std::mutex stats_mu_;  // stats_, shared with the HTTP threads
  JobStats stats_;
  std::mutex repos_mu_;  // the repositories, read by the HTTP threads one gathering at a time
  std::vector<const repo::Repository*> repo_ptrs_;

  std::optional<BearerToken> token_;
  std::unique_ptr<HttpServer> http_;
  std::thread http_thread_;
  std::string serving_;  // the URL served, for the service manager's status line
};

}  // namespace

const std::vector<JobKind>& job_kinds() {
  static const std::vector<JobKind> kinds = {
      {"backup", {"backup"}, false},
      {"expire", {"expire"}, false},
      {"verify", {"verify"}, true, true},
      {"restore_test", {"verify", "--restore-test"}, true, true},
      {"drill", {"drill"}, true},
      {"measure", {"measure"}, true},
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
  Daemon daemon(config, options, std::move(repos));
  return daemon.run();
}

}  // namespace pgdr::daemon
