#include "measure/measure.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/check_status.h"
#include "core/error.h"
#include "core/file.h"
#include "core/subprocess.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/server_user.h"
#include "repo/snapshot_info.h"
#include "repo/wal_archive.h"
#include "stream/wal_receiver.h"

namespace pgdr::measure {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double round3(double v) { return std::round(v * 1000) / 1000; }

// A scratch directory removed on every path.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp == '/' ? tmp : "/tmp") + "/pgdr-measure-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("unable to create a temporary directory", pattern, errno);
    path = pattern;
  }
  ~ScratchDir() {
    try {
      remove_tree(path);
    } catch (...) {
    }
  }
};

struct ArchivedCommit {
  std::optional<SystemTime> time;
  std::string segment;  // where it was found
  int segments_read = 0;
  std::string problem;
};

// The newest commit in the archive: pg_waldump over the newest segments, newest first, until one
// holds a commit (an idle server's forced segment switches hold none).
ArchivedCommit newest_archived_commit(const repo::Repository& repo, std::uint64_t seg_bytes, int pg_major) {
  ArchivedCommit out;
  auto wal = repo::list_wal(repo, seg_bytes);
  if (wal.segments.empty()) {
    out.problem = "no WAL archived";
    return out;
  }
  const auto& [tli, segs] = *wal.segments.rbegin();
  ScratchDir dir;
  const std::string waldump = "/usr/lib/postgresql/" + std::to_string(pg_major) + "/bin/pg_waldump";
  for (auto it = segs.rbegin(); it != segs.rend() && out.segments_read < 8; ++it) {
    std::string name = pg::segment_file_name(tli, *it, seg_bytes);
    auto content = repo::fetch_wal_file(repo, name);
    if (!content) continue;
    write_file_durably(dir.path + "/" + name, *content, 0600);
    ++out.segments_read;
    ProcessResult r = run_process({waldump, "--rmgr=Transaction", "--path=" + dir.path, name}, {}, {"TZ=UTC", "LC_ALL=C"});
    remove_tree(dir.path + "/" + name);
    if (auto t = newest_commit_in_waldump(r.out)) {
      out.time = t;
      out.segment = name;
      return out;
    }
  }
  out.problem = "no commit in the newest " + std::to_string(out.segments_read) + " archived segments";
  return out;
}

std::optional<double> number(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

const json* drill_phase(const json& report, const std::string& name) {
  if (!report.contains("phases")) return nullptr;
  for (const auto& p : report["phases"])
    if (p.value("name", "") == name) return &p;
  return nullptr;
}

}  // namespace

std::optional<SystemTime> newest_commit_in_waldump(const std::string& output) {
  std::optional<SystemTime> newest;
  std::size_t at = 0;
  while ((at = output.find("desc: COMMIT ", at)) != std::string::npos) {
    at += 13;
    // "2026-11-26 02:27:03.123456 UTC"
    if (output.size() < at + 19) break;
    std::string t = output.substr(at, 26);
    std::string iso = t.substr(0, 10) + "T" + t.substr(11, 8);
    std::string frac = "000";
    if (t.size() > 20 && t[19] == '.') frac = t.substr(20, 3);
    if (auto p = parse_iso8601(iso + "." + frac + "Z"))
      if (!newest || *p > *newest) newest = p;
  }
  return newest;
}

std::optional<double> forecast_rto(const json& drill, double logical_bytes, double wal_bytes, std::string* how) {
  const json* restore = drill_phase(drill, "restore");
  const json* measure = drill_phase(drill, "measure");
  if (!restore || !measure || !drill.contains("rto")) return std::nullopt;
  const json& comps = drill["rto"]["components"];
  auto restored_bytes = number((*restore)["details"], "bytes");
  auto restore_s = number(comps, "restore");
  if (!restored_bytes || !restore_s || *restored_bytes <= 0 || *restore_s <= 0) return std::nullopt;
  const double restore_rate = *restored_bytes / *restore_s;
  double replay = number(comps, "wal_replay").value_or(0);
  std::string replay_how;
  auto start = pg::parse_lsn((*restore)["details"].value("snapshot_start_lsn", ""));
  auto end = pg::parse_lsn((*measure)["details"].value("copy_wal_lsn", ""));
  double replayed = (start && end && *end > *start) ? static_cast<double>(end->value - start->value) : 0;
  if (replayed >= (16 << 20) && replay > 0) {
    const double rate = replayed / replay;
    replay = wal_bytes / rate;
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.0f MB of WAL / %.1f MB/s replay", wal_bytes / 1e6, rate / 1e6);
    replay_how = buf;
  } else {
    replay_how = "the drill's replay time (it replayed too little WAL to measure a rate)";
  }
  double fixed = number(comps, "prepare").value_or(0) + number(comps, "startup").value_or(0) +
                 number(comps, "checks").value_or(0) + number(comps, "application").value_or(0);
  if (how) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%.0f MB / %.1f MB/s restore (drill of %s) + %s + %.1f s startup, checks and application", logical_bytes / 1e6,
                  restore_rate / 1e6, drill.value("started_at", std::string("?")).c_str(), replay_how.c_str(), fixed);
    *how = buf;
  }
  return logical_bytes / restore_rate + replay + fixed;
}

json run_measure(const Config& cfg, const repo::Repository& repo, const std::vector<catalog::RunRecord>& drills) {
  const auto t0 = Clock::now();
  const SystemTime now = std::chrono::system_clock::now();
  json report;
  report["kind"] = "measure";
  report["pgdr_version"] = PGDR_VERSION;
  report["cluster"] = cfg.cluster.name;
  report["repository"] = repo.name();
  report["started_at"] = iso8601_ms(now);
  const double rto_obj = std::chrono::duration<double>(cfg.objectives.rto).count();
  const double rpo_obj = std::chrono::duration<double>(cfg.objectives.rpo).count();
  report["objectives"] = {{"rto_seconds", rto_obj}, {"rpo_seconds", rpo_obj}};
  json checks = json::array();
  std::string result = "PASS";
  auto add_check = [&](const std::string& name, const std::string& status, Clock::time_point started, json details) {
    checks.push_back({{"name", name},
                      {"status", status},
                      {"seconds", round3(std::chrono::duration<double>(Clock::now() - started).count())},
                      {"details", std::move(details)}});
    result = worse_status(result, status);
  };

  auto snapshots = repo::list_snapshots(repo.store(), repo.key());
  const repo::SnapshotInfo* newest = snapshots.empty() ? nullptr : &snapshots.back();
  const std::uint64_t seg_bytes = newest && newest->wal_segment_bytes ? newest->wal_segment_bytes : (16u << 20);
  const int pg_major = newest && newest->pg_version_num ? newest->pg_version_num / 10000 : 15;

  // Source figures, when it answers.
  std::optional<double> source_bytes;
  std::optional<pg::Lsn> source_lsn;
  std::string source_problem;
  if (!cfg.cluster.conninfo.empty()) {
    try {
      pg::Connection c(cfg.cluster.conninfo);
      source_bytes = std::stod(c.query("SELECT sum(pg_database_size(oid))::text FROM pg_database").scalar());
      if (c.query("SELECT pg_is_in_recovery()").scalar() == "f")
        source_lsn = pg::parse_lsn(c.query("SELECT pg_current_wal_lsn()::text").scalar());
    } catch (const Error& e) {
      source_problem = e.what();
    }
  }

  // ---- RPO now: the archive, and the WAL stream where one runs ---------------------------------
  {
    auto started = Clock::now();
    ArchivedCommit ac = newest_archived_commit(repo, seg_bytes, pg_major);
    json d = {{"method",
               "now minus the newest commit found in the newest archived WAL (pg_waldump over the archived "
               "segments): the most a disaster now would lose"}};
    std::optional<double> archive_lag;
    if (ac.time) {
      archive_lag = std::max(0.0, std::chrono::duration<double>(now - *ac.time).count());
      d["newest_archived_commit"] = iso8601_ms(*ac.time);
      d["segment"] = ac.segment;
      d["archive_lag_seconds"] = round3(*archive_lag);
    } else {
      d["problem"] = ac.problem;
    }
    d["segments_read"] = ac.segments_read;

    // A running wal-stream makes WAL durable within moments: restore and drills read it like
    // archived WAL, so the smaller of the two lags is what a disaster now would cost.
    std::optional<double> stream_lag;
    auto sp = stream::last_received(repo, seg_bytes);
    if (sp) {
      json st = {{"flushed_lsn", pg::to_string(sp->flushed)},
                 {"running", sp->running},
                 {"synchronous", sp->synchronous},
                 {"partial_segment", sp->partial_segment}};
      if (sp->flushed_at) st["flushed_at"] = iso8601_ms(*sp->flushed_at);
      std::optional<pg::Lsn> server_end = source_lsn ? source_lsn : sp->server_wal_end;
      if (server_end) {
        const double behind = server_end->value > sp->flushed.value ? double(server_end->value - sp->flushed.value) : 0;
        st["receive_lag_bytes"] = behind;
        st["receive_lag_bytes_from"] = source_lsn ? "the source's current WAL position" : "the server's WAL end as last reported";
        if (behind == 0) stream_lag = 0;
        else if (sp->flushed_at) stream_lag = std::max(0.0, std::chrono::duration<double>(now - *sp->flushed_at).count());
      }
      if (stream_lag) st["receive_lag_seconds"] = round3(*stream_lag);
      d["wal_stream"] = st;
    }
    std::optional<double> lag = archive_lag;
    std::string from = "archive";
    if (stream_lag && (!lag || *stream_lag < *lag)) {
      lag = stream_lag;
      from = "wal-stream";
    }
    std::string status;
    if (lag) {
      report["rpo_seconds"] = round3(*lag);
      d["rpo_from"] = from;
      d["margin_seconds"] = round3(rpo_obj - *lag);
      status = *lag <= rpo_obj ? "PASS" : "FAIL";
    } else {
      report["rpo_seconds"] = nullptr;
      status = "WARN";
    }
    add_check("rpo", status, started, d);
  }

  // ---- RTO: the newest drill, and a forecast for today's size ------------------------------------
  {
    auto started = Clock::now();
    json d = json::object();
    std::string status = "WARN";
    report["rto_seconds"] = nullptr;
    report["rto_forecast_seconds"] = nullptr;
    const catalog::RunRecord* last = nullptr;
    for (const auto& r : drills)
      if (r.rto_seconds) {
        last = &r;
        break;
      }
    if (!last) {
      d["problem"] = "no drill with a measured RTO in the catalog: run pgdr drill";
    } else {
      json drill = json::parse(last->report_json, nullptr, false);
      report["rto_seconds"] = *last->rto_seconds;
      d["last_drill"] = iso8601_ms(last->started);
      d["last_drill_rto_seconds"] = *last->rto_seconds;
      double bytes = source_bytes.value_or(newest ? static_cast<double>(newest->logical_bytes) : 0);
      double wal = 0;
      if (newest) {
        auto start = pg::parse_lsn(newest->start_lsn);
        if (start && source_lsn && *source_lsn > *start) wal = static_cast<double>(source_lsn->value - start->value);
      }
      d["database_bytes"] = bytes;
      d["database_bytes_from"] = source_bytes ? "the source (pg_database_size)" : "the newest snapshot";
      d["wal_bytes_to_replay"] = wal;
      std::string how;
      if (auto f = forecast_rto(drill, bytes, wal, &how)) {
        report["rto_forecast_seconds"] = round3(*f);
        d["forecast_method"] = how;
      } else {
        d["forecast_problem"] = "the last drill did not measure restore throughput";
      }
      double judged = report["rto_forecast_seconds"].is_number() ? std::max(*last->rto_seconds, report["rto_forecast_seconds"].get<double>())
                                                                  : *last->rto_seconds;
      d["margin_seconds"] = round3(rto_obj - judged);
      status = judged <= rto_obj ? "PASS" : "FAIL";
      json trend = json::array();
      for (auto it = drills.rbegin(); it != drills.rend(); ++it)
        if (it->rto_seconds)
          trend.push_back({{"started_at", iso8601_ms(it->started)},
                           {"rto_seconds", *it->rto_seconds},
                           {"rpo_seconds", it->rpo_seconds ? json(*it->rpo_seconds) : json(nullptr)}});
      d["drills"] = trend;
    }
    add_check("rto", status, started, d);
  }

  // ---- coverage, growth and WAL rate over the last 24 h ------------------------------------------
  {
    auto started = Clock::now();
    std::set<long> hours_covered;
    std::vector<const repo::SnapshotInfo*> recent;
    const auto day_ago = now - std::chrono::hours(24);
    for (const auto& s : snapshots) {
      auto t = parse_iso8601(s.stop_time);
      if (!t || *t < day_ago) continue;
      recent.push_back(&s);
      hours_covered.insert(static_cast<long>(std::chrono::duration_cast<std::chrono::hours>(now - *t).count()));
    }
    double coverage = 100.0 * static_cast<double>(hours_covered.size()) / 24.0;
    json d = {{"coverage_percent", round3(coverage)},
              {"hours_with_a_snapshot", hours_covered.size()},
              {"snapshots_last_24h", recent.size()},
              {"method", "hourly slots of the last 24 h holding at least one completed snapshot"}};
    if (newest) {
      auto t = parse_iso8601(newest->stop_time);
      if (t) d["newest_snapshot_age_seconds"] = round3(std::chrono::duration<double>(now - *t).count());
    }
    add_check("coverage", coverage >= 95 ? "PASS" : coverage > 0 ? "WARN" : "FAIL", started, d);

    started = Clock::now();
    std::uint64_t stored = 0;
    for (const auto* s : recent) stored += s->stored_bytes;
    json g = {{"stored_bytes_last_24h", stored}};
    if (newest) g["logical_bytes_now"] = newest->logical_bytes;
    if (!recent.empty()) g["logical_bytes_24h_ago"] = recent.front()->logical_bytes;
    std::uint64_t total_stored = 0;
    for (const auto& s : snapshots) total_stored += s.stored_bytes;
    g["stored_bytes_total"] = total_stored;
    add_check("growth", "PASS", started, g);

    started = Clock::now();
    json w = json::object();
    if (recent.size() >= 2) {
      auto a = pg::parse_lsn(recent.front()->stop_lsn), b = pg::parse_lsn(recent.back()->stop_lsn);
      auto ta = parse_iso8601(recent.front()->stop_time), tb = parse_iso8601(recent.back()->stop_time);
      if (a && b && ta && tb && *b >= *a && *tb > *ta) {
        double hours = std::chrono::duration<double>(*tb - *ta).count() / 3600;
        w["wal_bytes_per_hour"] = round3(static_cast<double>(b->value - a->value) / hours);
        w["method"] = "WAL positions of the oldest and newest snapshot of the last 24 h";
      }
    }
    if (w.empty()) w["problem"] = "fewer than two snapshots in the last 24 h";
    add_check("wal_rate", w.contains("problem") ? "WARN" : "PASS", started, w);
  }
  if (!source_problem.empty()) report["source_problem"] = source_problem;
  report["checks"] = checks;
  report["result"] = result;
  report["seconds"] = round3(std::chrono::duration<double>(Clock::now() - t0).count());
  return report;
}

}  // namespace pgdr::measure
