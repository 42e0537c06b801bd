#include "daemon/status.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/duration.h"
#include "core/error.h"
#include "daemon/cron.h"
#include "repo/snapshot_coverage.h"

namespace pgdr::daemon {

namespace {

using nlohmann::json;

double seconds_between(SystemTime a, SystemTime b) { return std::chrono::duration<double>(b - a).count(); }

std::optional<std::uint64_t> directory_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::uint64_t total = 0;
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return std::nullopt;
  for (; it != end; it.increment(ec)) {
    if (ec) return std::nullopt;
    std::error_code fec;
    if (it->is_regular_file(fec)) {
      auto n = it->file_size(fec);
      if (!fec) total += n;
    }
  }
  return total;
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char b[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(b, sizeof b, "%.0f", v);
  else
    std::snprintf(b, sizeof b, "%.15g", v);
  return b;
}

// One metric family: its HELP and TYPE lines and samples, written only when it has a sample.
class Family {
 public:
  Family(std::string name, std::string type, std::string help)
      : name_(std::move(name)), type_(std::move(type)), help_(std::move(help)) {}
  Family& add(double value, const std::vector<std::pair<std::string, std::string>>& labels = {}) {
    std::string line = name_;
    if (!labels.empty()) {
      line += "{";
      for (std::size_t i = 0; i < labels.size(); ++i)
        line += (i ? "," : "") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
      line += "}";
    }
    samples_ += line + " " + format_value(value) + "\n";
    return *this;
  }
  void write_to(std::string& out) const {
    if (samples_.empty()) return;
    out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " " + type_ + "\n" + samples_;
  }

 private:
  std::string name_, type_, help_, samples_;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// pgdr_last_KIND_result, _duration_seconds and _timestamp_seconds, without samples yet.
std::vector<Family> result_families(const std::string& kind, const std::string& of) {
  return {Family("pgdr_last_" + kind + "_result", "gauge",
                 "Result of the newest " + kind + of + ": 0 PASS, 1 WARN, 2 FAIL."),
          Family("pgdr_last_" + kind + "_duration_seconds", "gauge", "How long the newest " + kind + of + " took."),
          Family("pgdr_last_" + kind + "_timestamp_seconds", "gauge",
                 "When the newest " + kind + of + " started (Unix time).")};
}

void add_result(std::vector<Family>& families, const catalog::RunRecord& r, const Labels& labels) {
  int code = result_code(r.result);
  if (code >= 0) families[0].add(code, labels);
  families[1].add(r.seconds, labels);
  families[2].add(std::chrono::duration<double>(r.started.time_since_epoch()).count(), labels);
}

// A check's detail from a measure report: checks[name=check].details[key].
std::optional<double> check_detail(const std::string& report_json, const std::string& check, const std::string& key) {
  try {
    json j = json::parse(report_json);
    for (const auto& c : j.value("checks", json::array()))
      if (c.value("name", "") == check && c.contains("details") && c["details"].contains(key) &&
          c["details"][key].is_number())
        return c["details"][key].get<double>();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<SystemTime> snapshot_time(const repo::SnapshotInfo& s) { return parse_iso8601(s.stop_time); }

// The names of a report's checks (verify, measure) or phases and figures (drill) with a status,
// comma-separated: what a health reason names so that nobody has to open the report to know which.
std::string checks_with_status(const std::string& report_json, const std::string& status) {
  std::string out;
  try {
    json j = json::parse(report_json);
    for (const char* list : {"checks", "phases"})
      for (const auto& c : j.value(list, json::array()))
        if (c.is_object() && c.value("status", "") == status) out += (out.empty() ? "" : ", ") + c.value("name", "?");
    for (const char* figure : {"rto", "rpo"})
      if (j.contains(figure) && j[figure].is_object() && j[figure].value("status", "") == status)
        out += (out.empty() ? "" : ", ") + std::string(figure);
  } catch (const std::exception&) {
  }
  return out;
}

// "last verify of repository 'a' failed (started ..., report /reports/3): wal_continuity", where
// subject is "last verify of repository 'a'" or "last drill".
std::string run_reason(const std::string& subject, const catalog::RunRecord& r, const std::string& what,
                       const std::string& status) {
  std::string line = subject + " " + what + " (started " + iso8601(r.started) + ", report /reports/" +
                     std::to_string(r.id) + ")";
  std::string names = checks_with_status(r.report_json, status);
  if (!names.empty()) line += ": " + names;
  return line;
}

std::string last_verify_of(const RepoStatus& r) { return "last verify of repository '" + r.name + "'"; }

// This cluster's recent runs, newest first. Per kind, so that frequent measures do not push the
// last drill out of reach; enough for the trends (a measure every 5 minutes for about 2 days)
// without reading every report ever made.
std::vector<catalog::RunRecord> recent_runs(const catalog::Catalog& cat, const std::string& cluster) {
  std::map<std::int64_t, catalog::RunRecord> by_id;
  for (auto [kind, limit] : {std::pair<const char*, std::size_t>{"", 25},
                             {"drill", 100},
                             {"verify", 50},
                             {"measure", 600},
                             {"backup", 1},
                             {"expire", 1}})
    for (auto& r : cat.runs(kind, cluster, limit)) by_id.emplace(r.id, std::move(r));
  std::vector<catalog::RunRecord> out;
  for (auto it = by_id.rbegin(); it != by_id.rend(); ++it) out.push_back(it->second);
  std::stable_sort(out.begin(), out.end(),
                   [](const catalog::RunRecord& a, const catalog::RunRecord& b) { return a.started > b.started; });
  return out;
}

}  // namespace

const catalog::RunRecord* Status::last_run(const std::string& kind) const {
  for (const auto& r : runs)
    if (r.kind == kind) return &r;
  return nullptr;
}

int result_code(const std::string& result) {
  if (result == "PASS") return 0;
  if (result == "WARN") return 1;
  if (result == "FAIL") return 2;
  return -1;
}

Status gather_status(const Config& config, const std::vector<const repo::Repository*>& repos,
                     const std::vector<std::pair<std::string, std::string>>& open_errors) {
  Status st;
  st.now = std::chrono::system_clock::now();
  for (const auto* r : repos) {
    RepoStatus rs;
    rs.name = r->name();
    try {
      std::vector<std::string> damaged;
      rs.snapshots = repo::list_snapshots(r->store(), r->key(), &damaged);
      if (!damaged.empty()) rs.error = damaged.front();
    } catch (const Error& e) {
      rs.error = e.what();
    }
    rs.created = repo::coverage_start(r->settings().created, rs.snapshots);
    for (const auto& rc : config.repos)
      if (rc.name == rs.name) rs.size_bytes = directory_bytes(rc.path);
    st.repos.push_back(std::move(rs));
  }
  for (const auto& [name, error] : open_errors) {
    RepoStatus rs;
    rs.name = name;
    rs.error = error;
    st.repos.push_back(std::move(rs));
  }
  try {
    auto cat = catalog::Catalog::open(catalog::catalog_path(config));
    st.runs = recent_runs(cat, config.cluster.name);
    for (auto& r : st.repos) r.last_verify = cat.newest_run("verify", config.cluster.name, r.name);
  } catch (const Error& e) {
    st.catalog_error = e.what();
  }
  return st;
}

double coverage_ratio(const RepoStatus& repo, SystemTime now) {
  return repo::hourly_coverage(repo.snapshots, now, repo.created).ratio();
}

std::string metrics_text(const Config& config, const Status& st) {
  Family count("pgdr_snapshots", "gauge", "Complete snapshots in the repository.");
  Family age("pgdr_last_snapshot_age_seconds", "gauge", "Seconds since the newest snapshot stopped.");
  Family size("pgdr_last_snapshot_size_bytes", "gauge", "Logical size of the newest snapshot (sum of file sizes).");
  Family stored("pgdr_last_snapshot_stored_bytes", "gauge", "Bytes the newest snapshot added to the repository.");
  Family dur("pgdr_last_snapshot_duration_seconds", "gauge", "How long the newest snapshot took.");
  Family cov("pgdr_snapshot_coverage_ratio", "gauge",
             "Share of the one-hour slots of the last 24 h since the repository was created holding a snapshot.");
  Family repo_size("pgdr_repository_size_bytes", "gauge", "Bytes stored under the repository directory.");
  Family repo_ok("pgdr_repository_readable", "gauge", "1 when the repository could be listed, 0 otherwise.");
  for (const auto& r : st.repos) {
    std::vector<std::pair<std::string, std::string>> l = {{"repo", r.name}};
    repo_ok.add(r.error.empty() ? 1 : 0, l);
    if (r.size_bytes) repo_size.add(static_cast<double>(*r.size_bytes), l);
    count.add(static_cast<double>(r.snapshots.size()), l);
    cov.add(coverage_ratio(r, st.now), l);
    if (r.snapshots.empty()) continue;
    const auto& s = r.snapshots.back();
    if (auto t = snapshot_time(s)) age.add(std::max(0.0, seconds_between(*t, st.now)), l);
    size.add(static_cast<double>(s.logical_bytes), l);
    stored.add(static_cast<double>(s.stored_bytes), l);
    dur.add(s.duration_seconds, l);
  }

  Family lag("pgdr_wal_archive_lag_seconds", "gauge",
             "Archive lag found by the newest pgdr measure: its time minus the newest archived commit.");
  Family measure_age("pgdr_last_measure_age_seconds", "gauge", "Seconds since the newest pgdr measure started.");
  Family rto("pgdr_rto_seconds", "gauge", "RTO measured by the newest drill.");
  Family rpo("pgdr_rpo_seconds", "gauge",
             "RPO: the newest measure's (else the newest drill's) measured data loss window.");
  Family rto_obj("pgdr_rto_objective_seconds", "gauge", "The configured RTO objective.");
  Family rpo_obj("pgdr_rpo_objective_seconds", "gauge", "The configured RPO objective.");
  rto_obj.add(std::chrono::duration<double>(config.objectives.rto).count());
  rpo_obj.add(std::chrono::duration<double>(config.objectives.rpo).count());
  const auto* measure = st.last_run("measure");
  const auto* drill = st.last_run("drill");
  if (measure) {
    measure_age.add(std::max(0.0, seconds_between(measure->started, st.now)));
    if (auto v = check_detail(measure->report_json, "rpo", "archive_lag_seconds")) lag.add(*v);
  }
  if (drill && drill->rto_seconds) rto.add(*drill->rto_seconds);
  if (measure && measure->rpo_seconds)
    rpo.add(*measure->rpo_seconds);
  else if (drill && drill->rpo_seconds)
    rpo.add(*drill->rpo_seconds);

  // The newest verify of each repository, labelled like the snapshot gauges; the newest drill and
  // measure, which are about the cluster.
  std::vector<Family> checks = result_families("verify", " of each repository");
  for (const auto& r : st.repos)
    if (r.last_verify) add_result(checks, *r.last_verify, {{"repo", r.name}});
  for (const char* kind : {"drill", "measure"}) {
    const auto* r = st.last_run(kind);
    if (!r) continue;
    auto families = result_families(kind, "");
    add_result(families, *r, {});
    checks.insert(checks.end(), families.begin(), families.end());
  }

  Family runs("pgdr_job_runs_total", "counter", "Jobs the daemon ran, by job and result.");
  for (const auto& [key, n] : st.jobs.runs)
    runs.add(static_cast<double>(n), {{"job", key.first}, {"result", key.second}});
  Family skipped("pgdr_job_skipped_total", "counter",
                 "Scheduled slots skipped because the same job was still running.");
  for (const auto& [job, n] : st.jobs.skipped) skipped.add(static_cast<double>(n), {{"job", job}});
  Family last_exit("pgdr_job_last_exit_code", "gauge", "Exit code of each job's last run.");
  for (const auto& [job, o] : st.jobs.last) last_exit.add(o.exit_code, {{"job", job}});

  Family http_open("pgdr_http_connections_open", "gauge", "HTTP connections in hand, this scrape's included.");
  Family http_refused("pgdr_http_connections_refused_total", "counter",
                      "HTTP connections answered 503 because [daemon] max_connections were open.");
  Family http_timed_out("pgdr_http_requests_timed_out_total", "counter",
                        "HTTP requests not received whole within [daemon] request_timeout (408, or a TLS handshake dropped).");
  Family http_too_large("pgdr_http_requests_too_large_total", "counter",
                        "HTTP requests answered 413: larger than a request may be.");
  if (st.http) {
    http_open.add(static_cast<double>(st.http->connections_open));
    http_refused.add(static_cast<double>(st.http->connections_refused));
    http_timed_out.add(static_cast<double>(st.http->requests_timed_out));
    http_too_large.add(static_cast<double>(st.http->requests_too_large));
  }

  Family healthy("pgdr_healthy", "gauge", "1 when /health reports ok, 0 otherwise.");
  healthy.add(health_problems(config, st).empty() ? 1 : 0);

  // Which pgdr answers: a constant 1 whose label carries the version, Prometheus's convention for
  // build information (joined onto other series with group_left when needed).
  Family build("pgdr_build_info", "gauge", "A constant 1 labelled with the pgdr version that serves these metrics.");
  build.add(1, {{"version", PGDR_VERSION}});

  std::string out;
  build.write_to(out);
  for (const Family* f : {&count, &age, &size, &stored, &dur, &cov, &repo_size, &repo_ok, &lag, &measure_age, &rto,
                          &rpo, &rto_obj, &rpo_obj})
    f->write_to(out);
  for (const auto& f : checks) f.write_to(out);
  for (const Family* f : {&runs, &skipped, &last_exit, &http_open, &http_refused, &http_timed_out, &http_too_large,
                          &healthy})
    f->write_to(out);
  return out;
}

std::vector<std::string> health_problems(const Config& config, const Status& st) {
  std::vector<std::string> out;
  std::optional<std::chrono::seconds> period;
  if (!config.schedule.backup.empty()) {
    try {
      auto p = Schedule::parse(config.schedule.backup).period_near(st.now);
      if (p.count() > 0) period = p;
    } catch (const Error&) {
    }
  }
  for (const auto& r : st.repos) {
    if (!r.error.empty()) out.push_back("repository '" + r.name + "' cannot be read: " + r.error);
    if (r.snapshots.empty()) {
      if (r.error.empty()) out.push_back("no snapshot in repository '" + r.name + "'");
      continue;
    }
    auto t = snapshot_time(r.snapshots.back());
    if (period && t) {
      double age = seconds_between(*t, st.now);
      if (age > 2.0 * static_cast<double>(period->count()))
        out.push_back("newest snapshot in repository '" + r.name + "' is " + format_seconds(age) +
                      " old, more than twice the backup schedule's interval of " +
                      format_seconds(static_cast<double>(period->count())));
    }
  }
  for (const auto& r : st.repos)
    if (r.last_verify && r.last_verify->result == "FAIL")
      out.push_back(run_reason(last_verify_of(r), *r.last_verify, "failed", "FAIL"));
  if (const auto* r = st.last_run("drill"); r && r->result == "FAIL")
    out.push_back(run_reason("last drill", *r, "failed", "FAIL"));
  if (const auto* m = st.last_run("measure"); m && m->rpo_seconds) {
    double obj = std::chrono::duration<double>(config.objectives.rpo).count();
    if (*m->rpo_seconds > obj)
      out.push_back("RPO " + format_seconds(*m->rpo_seconds) + " measured at " + iso8601(m->started) +
                    " is over the objective of " + format_seconds(obj));
  }
  for (const auto& [job, o] : st.jobs.last)
    if (o.result == "error") {
      std::string line = "last " + job + " job failed with exit code " + std::to_string(o.exit_code);
      if (!o.last_line.empty()) line += ": " + o.last_line;
      out.push_back(line);
    }
  return out;
}

std::vector<std::string> health_warnings(const Status& st) {
  std::vector<std::string> out;
  for (const auto& r : st.repos)
    if (r.last_verify && r.last_verify->result == "WARN")
      out.push_back(run_reason(last_verify_of(r), *r.last_verify, "warned", "WARN"));
  for (const char* kind : {"drill", "measure"})
    if (const auto* r = st.last_run(kind); r && r->result == "WARN")
      out.push_back(run_reason("last " + std::string(kind), *r, "warned", "WARN"));
  return out;
}

}  // namespace pgdr::daemon
