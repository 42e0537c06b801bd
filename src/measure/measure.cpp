#include "measure/measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/check_status.h"
#include "core/error.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/wal_reader.h"
#include "repo/snapshot_coverage.h"
#include "repo/snapshot_info.h"
#include "repo/wal_archive.h"
#include "stream/wal_receiver.h"

namespace pgdr::measure {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double round3(double v) { return std::round(v * 1000) / 1000; }

struct ArchivedCommit {
  std::optional<SystemTime> time;
  std::uint32_t xid = 0;
  std::string segment;  // where it was found
  int segments_read = 0;
  std::string problem;
  std::string read_error;  // a segment pgdr's WAL reader refused, even when an older one answered
};

// The newest commit in the archive, read by pgdr's WAL reader from the newest segments, newest
// first, until one holds a commit (an idle server's forced segment switches hold none). The
// segment read before (the next one in WAL order) is kept to finish a record that crosses into it.
ArchivedCommit newest_archived_commit(const repo::Repository& repo, std::uint64_t seg_bytes) {
  ArchivedCommit out;
  auto wal = repo::list_wal(repo, seg_bytes);
  if (wal.segments.empty()) {
    out.problem = "no WAL archived";
    return out;
  }
  const auto& [tli, segs] = *wal.segments.rbegin();
  std::optional<Bytes> later;
  std::string later_name;
  std::uint64_t later_segno = 0;
  for (auto it = segs.rbegin(); it != segs.rend() && out.segments_read < 8; ++it) {
    std::string name = pg::segment_file_name(tli, *it, seg_bytes);
    auto content = repo::fetch_wal_file(repo, name);
    if (!content) {
      later.reset();
      continue;
    }
    ++out.segments_read;
    const bool adjacent = later && later_segno == *it + 1;
    try {
      auto commit = newest_commit_in_segment(name, *content, adjacent ? later_name : std::string(),
                                             adjacent ? ByteView(*later) : ByteView(), seg_bytes);
      if (commit) {
        out.time = commit->time;
        out.xid = commit->xid;
        out.segment = name;
        return out;
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
      if (out.read_error.empty()) out.read_error = e.what();
    }
    later = std::move(content);
    later_name = name;
    later_segno = *it;
  }
  out.problem = "no commit in the newest " + std::to_string(out.segments_read) + " archived segments";
  if (!out.read_error.empty()) out.problem += " (" + out.read_error + ")";
  return out;
}

std::optional<double> number(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

struct SourceTransactions {
  std::optional<std::uint32_t> completed_xid_next;  // latestCompletedXid + 1 (pg_current_snapshot's xmax), low 32 bits
  bool none_running = false;                        // no transaction with an xid below it still runs
  std::optional<SystemTime> last_commit;            // pg_last_committed_xact(), with track_commit_timestamp
};

SourceTransactions read_source_transactions(pg::Connection& c) {
  SourceTransactions out;
  auto row = c.query("SELECT (pg_snapshot_xmax(s)::text::numeric % 4294967296)::text, "
                     "(pg_snapshot_xmin(s) = pg_snapshot_xmax(s))::text FROM pg_current_snapshot() s")
                 .rows.at(0);
  if (row.at(0)) out.completed_xid_next = static_cast<std::uint32_t>(std::stoul(*row.at(0)));
  out.none_running = row.at(1) && *row.at(1) == "true";
  if (c.query("SELECT current_setting('track_commit_timestamp')").scalar() == "on") {
    auto ts = c.query("SELECT to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
                      "FROM pg_last_committed_xact()")
                  .rows;
    if (!ts.empty() && ts.at(0).at(0)) out.last_commit = parse_iso8601(*ts.at(0).at(0));
  }
  return out;
}

// Why the source has committed nothing since the newest archived commit, "" when that is not
// known. With track_commit_timestamp the server's newest commit time says it exactly. Otherwise
// transaction ids: the newest archived commit is the newest completed transaction (the snapshot's
// xmax is one past it) and none is running with an older id, so no transaction ended after it.
// An older-id transaction that committed after a newer one escapes the second test; measure then
// reports 0 s where a few seconds were at stake, only on a server without track_commit_timestamp.
std::string idle_since_archived(const SourceTransactions& src, const ArchivedCommit& ac) {
  if (!ac.time) return "";
  if (src.last_commit)
    return *src.last_commit <= *ac.time + std::chrono::milliseconds(1)
               ? "the source's newest commit (pg_last_committed_xact) is the newest archived one"
               : "";
  if (!src.completed_xid_next || !src.none_running || ac.xid == 0) return "";
  std::uint32_t next = ac.xid + 1;
  if (next < 3) next = 3;  // FirstNormalTransactionId: ids 0 to 2 are never assigned
  return *src.completed_xid_next == next
             ? "no transaction completed on the source after the newest archived commit (transaction " +
                   std::to_string(ac.xid) + ")"
             : "";
}

const json* drill_phase(const json& report, const std::string& name) {
  if (!report.contains("phases")) return nullptr;
  for (const auto& p : report["phases"])
    if (p.value("name", "") == name) return &p;
  return nullptr;
}

}  // namespace

std::optional<pg::XactEnd> newest_commit_in_segment(const std::string& name, ByteView bytes,
                                                    const std::string& next_name, ByteView next_bytes,
                                                    std::uint64_t segment_bytes) {
  pg::WalReader reader(segment_bytes);
  std::optional<pg::XactEnd> newest;
  auto consider = [&](const pg::WalRecord& record) {
    auto end = pg::xact_end(record);
    // The newest by time, not by position: each backend takes its commit time before it inserts
    // the record, so two commits can reach the WAL out of time order.
    if (end && end->is_commit() && (!newest || end->timestamp_us > newest->timestamp_us)) newest = end;
  };
  reader.feed(name, bytes);
  while (const pg::WalRecord* record = reader.next()) consider(*record);
  if (reader.in_record() && !next_bytes.empty()) {
    reader.feed(next_name, next_bytes);
    if (const pg::WalRecord* record = reader.next()) consider(*record);
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

namespace {

// One measurement, its checks in order (run()); the report is built as they go.
class Measure {
 public:
  Measure(const Config& cfg, const repo::Repository& repo, const std::vector<catalog::RunRecord>& drills)
      : cfg_(cfg),
        repo_(repo),
        drills_(drills),
        rto_obj_(std::chrono::duration<double>(cfg.objectives.rto).count()),
        rpo_obj_(std::chrono::duration<double>(cfg.objectives.rpo).count()) {}

  json run() {
    start_report();
    snapshots_ = repo::list_snapshots(repo_.store(), repo_.key());
    newest_ = snapshots_.empty() ? nullptr : &snapshots_.back();
    seg_bytes_ = newest_ && newest_->wal_segment_bytes ? newest_->wal_segment_bytes : (16u << 20);
    read_source();
    check_rpo();
    check_rto();
    const auto recent = recent_snapshots();
    check_coverage(recent);
    check_growth(recent);
    check_wal_rate(recent);
    if (!source_problem_.empty()) report_["source_problem"] = source_problem_;
    report_["checks"] = checks_;
    report_["result"] = to_string(result_);
    report_["seconds"] = round3(std::chrono::duration<double>(Clock::now() - t0_).count());
    return report_;
  }

 private:
  void start_report() {
    report_["kind"] = "measure";
    report_["pgdr_version"] = PGDR_VERSION;
    report_["cluster"] = cfg_.cluster.name;
    report_["repository"] = repo_.name();
    report_["started_at"] = iso8601_ms(now_);
    report_["objectives"] = {{"rto_seconds", rto_obj_}, {"rpo_seconds", rpo_obj_}};
  }

  // status none: the check could not judge yet (SKIP), which does not count against the result.
  void add_check(const std::string& name, std::optional<CheckStatus> status, Clock::time_point started,
                 json details) {
    checks_.push_back({{"name", name},
                       {"status", to_string(status)},
                       {"seconds", round3(std::chrono::duration<double>(Clock::now() - started).count())},
                       {"details", std::move(details)}});
    if (status) result_ = worse(result_, *status);
  }

  // Source figures, when it answers; what it says of its newest completed transaction tells an
  // idle database (nothing committed since the newest archived commit: RPO 0) from one whose
  // commits wait in pg_wal.
  void read_source() {
    if (cfg_.cluster.conninfo.empty()) return;
    try {
      pg::Connection c(cfg_.cluster.conninfo);
      source_bytes_ = std::stod(c.query("SELECT sum(pg_database_size(oid))::text FROM pg_database").scalar());
      if (c.query("SELECT pg_is_in_recovery()").scalar() == "f") {
        source_lsn_ = pg::parse_lsn(c.query("SELECT pg_current_wal_lsn()::text").scalar());
        source_xacts_ = read_source_transactions(c);
      }
    } catch (const Error& e) {
      source_problem_ = e.what();
    }
  }

  // ---- RPO now: the archive, and the WAL stream where one runs ---------------------------------
  void check_rpo() {
    auto started = Clock::now();
    json d = {{"method",
               "now minus the newest commit found in the newest archived WAL (the commit records of the archived "
               "segments, read by pgdr's WAL reader): the most a disaster now would lose"}};
    std::optional<double> lag = archive_lag(d);
    std::string from = "archive";
    // A running wal-stream makes WAL durable within moments: restore and drills read it like
    // archived WAL, so the smaller of the two lags is what a disaster now would cost.
    if (auto stream = stream_lag(d); stream && (!lag || *stream < *lag)) {
      lag = stream;
      from = "wal-stream";
    }
    CheckStatus status;
    if (lag) {
      report_["rpo_seconds"] = round3(*lag);
      d["rpo_from"] = from;
      d["margin_seconds"] = round3(rpo_obj_ - *lag);
      status = *lag <= rpo_obj_ ? CheckStatus::pass : CheckStatus::fail;
    } else {
      report_["rpo_seconds"] = nullptr;
      status = CheckStatus::warn;
    }
    add_check("rpo", status, started, d);
  }

  std::optional<double> archive_lag(json& d) {
    ArchivedCommit ac = newest_archived_commit(repo_, seg_bytes_);
    std::optional<double> lag;
    if (ac.time) {
      lag = std::max(0.0, std::chrono::duration<double>(now_ - *ac.time).count());
      d["newest_archived_commit"] = iso8601_ms(*ac.time);
      d["segment"] = ac.segment;
      if (std::string why = idle_since_archived(source_xacts_, ac); !why.empty()) {
        // Nothing committed since: a disaster now loses nothing, however old that commit is.
        lag = 0;
        d["idle"] = why;
      }
      d["archive_lag_seconds"] = round3(*lag);
    } else {
      d["problem"] = ac.problem;
    }
    d["segments_read"] = ac.segments_read;
    if (!ac.read_error.empty()) d["wal_read_error"] = ac.read_error;
    return lag;
  }

  std::optional<double> stream_lag(json& d) {
    auto sp = stream::last_received(repo_, seg_bytes_);
    if (!sp) return std::nullopt;
    std::optional<double> lag;
    json st = {{"flushed_lsn", pg::to_string(sp->flushed)},
               {"running", sp->running},
               {"synchronous", sp->synchronous},
               {"partial_segment", sp->partial_segment}};
    if (sp->flushed_at) st["flushed_at"] = iso8601_ms(*sp->flushed_at);
    std::optional<pg::Lsn> server_end = source_lsn_ ? source_lsn_ : sp->server_wal_end;
    if (server_end) {
      const double behind = server_end->value > sp->flushed.value ? double(server_end->value - sp->flushed.value) : 0;
      st["receive_lag_bytes"] = behind;
      st["receive_lag_bytes_from"] = source_lsn_ ? "the source's current WAL position" : "the server's WAL end as last reported";
      if (behind == 0) lag = 0;
      else if (sp->flushed_at) lag = std::max(0.0, std::chrono::duration<double>(now_ - *sp->flushed_at).count());
    }
    if (lag) st["receive_lag_seconds"] = round3(*lag);
    d["wal_stream"] = st;
    return lag;
  }

  // ---- RTO: the newest drill, and a forecast for today's size ------------------------------------
  void check_rto() {
    auto started = Clock::now();
    json d = json::object();
    report_["rto_seconds"] = nullptr;
    report_["rto_forecast_seconds"] = nullptr;
    const catalog::RunRecord* last = nullptr;
    for (const auto& r : drills_)
      if (r.rto_seconds) {
        last = &r;
        break;
      }
    if (!last) {
      // Not a warning: a new installation has not drilled yet, and saying so once is enough.
      d["note"] = "no drill yet: pgdr drill measures the RTO";
      add_check("rto", std::nullopt, started, d);
      return;
    }
    const double judged = rto_from_drill(*last, d);
    d["margin_seconds"] = round3(rto_obj_ - judged);
    d["drills"] = drill_trend();
    add_check("rto", judged <= rto_obj_ ? CheckStatus::pass : CheckStatus::fail, started, d);
  }

  // The newest drill's RTO and the forecast for today's database; returns the larger, which is
  // judged against the objective.
  double rto_from_drill(const catalog::RunRecord& last, json& d) {
    json drill = json::parse(last.report_json, nullptr, false);
    report_["rto_seconds"] = *last.rto_seconds;
    d["last_drill"] = iso8601_ms(last.started);
    d["last_drill_rto_seconds"] = *last.rto_seconds;
    double bytes = source_bytes_.value_or(newest_ ? static_cast<double>(newest_->logical_bytes) : 0);
    double wal = 0;
    if (newest_) {
      auto start = pg::parse_lsn(newest_->start_lsn);
      if (start && source_lsn_ && *source_lsn_ > *start) wal = static_cast<double>(source_lsn_->value - start->value);
    }
    d["database_bytes"] = bytes;
    d["database_bytes_from"] = source_bytes_ ? "the source (pg_database_size)" : "the newest snapshot";
    d["wal_bytes_to_replay"] = wal;
    std::string how;
    if (auto f = forecast_rto(drill, bytes, wal, &how)) {
      report_["rto_forecast_seconds"] = round3(*f);
      d["forecast_method"] = how;
    } else {
      d["forecast_problem"] = "the last drill did not measure restore throughput";
    }
    return report_["rto_forecast_seconds"].is_number()
               ? std::max(*last.rto_seconds, report_["rto_forecast_seconds"].get<double>())
               : *last.rto_seconds;
  }

  // The drills' RTO and RPO, oldest first.
  json drill_trend() const {
    json trend = json::array();
    for (auto it = drills_.rbegin(); it != drills_.rend(); ++it)
      if (it->rto_seconds)
        trend.push_back({{"started_at", iso8601_ms(it->started)},
                         {"rto_seconds", *it->rto_seconds},
                         {"rpo_seconds", it->rpo_seconds ? json(*it->rpo_seconds) : json(nullptr)}});
    return trend;
  }

  // ---- coverage, growth and WAL rate over the last 24 h ------------------------------------------
  std::vector<const repo::SnapshotInfo*> recent_snapshots() const {
    std::vector<const repo::SnapshotInfo*> recent;
    const auto day_ago = now_ - std::chrono::hours(24);
    for (const auto& s : snapshots_) {
      auto t = parse_iso8601(s.stop_time);
      if (!t || *t < day_ago) continue;
      recent.push_back(&s);
    }
    return recent;
  }

  void check_coverage(const std::vector<const repo::SnapshotInfo*>& recent) {
    auto started = Clock::now();
    const auto counted_from = repo::coverage_start(repo_.settings().created, snapshots_);
    const repo::HourlyCoverage hc = repo::hourly_coverage(snapshots_, now_, counted_from);
    double coverage = 100.0 * hc.ratio();
    json d = {{"coverage_percent", round3(coverage)},
              {"hours_with_a_snapshot", hc.covered_hours},
              {"hours_expected", hc.expected_hours},
              {"snapshots_last_24h", recent.size()},
              {"method", "hourly slots of the last 24 h since the repository was created holding at least one "
                         "completed snapshot"}};
    if (counted_from) d["counted_from"] = iso8601(*counted_from);
    if (newest_) {
      auto t = parse_iso8601(newest_->stop_time);
      if (t) d["newest_snapshot_age_seconds"] = round3(std::chrono::duration<double>(now_ - *t).count());
    }
    add_check("coverage", coverage >= 95 ? CheckStatus::pass : coverage > 0 ? CheckStatus::warn : CheckStatus::fail,
              started, d);
  }

  void check_growth(const std::vector<const repo::SnapshotInfo*>& recent) {
    auto started = Clock::now();
    std::uint64_t stored = 0;
    for (const auto* s : recent) stored += s->stored_bytes;
    json g = {{"stored_bytes_last_24h", stored}};
    if (newest_) g["logical_bytes_now"] = newest_->logical_bytes;
    if (!recent.empty()) g["logical_bytes_24h_ago"] = recent.front()->logical_bytes;
    std::uint64_t total_stored = 0;
    for (const auto& s : snapshots_) total_stored += s.stored_bytes;
    g["stored_bytes_total"] = total_stored;
    add_check("growth", CheckStatus::pass, started, g);
  }

  void check_wal_rate(const std::vector<const repo::SnapshotInfo*>& recent) {
    auto started = Clock::now();
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
    // Too few snapshots to measure a rate is no risk: the figure is simply not known yet.
    if (w.empty()) w["note"] = "fewer than two snapshots in the last 24 h: no rate yet";
    add_check("wal_rate", w.contains("note") ? std::nullopt : std::optional(CheckStatus::pass), started, w);
  }

  const Config& cfg_;
  const repo::Repository& repo_;
  const std::vector<catalog::RunRecord>& drills_;  // newest first
  const Clock::time_point t0_ = Clock::now();
  const SystemTime now_ = std::chrono::system_clock::now();
  const double rto_obj_, rpo_obj_;
  json report_;
  json checks_ = json::array();
  CheckStatus result_ = CheckStatus::pass;

  std::vector<repo::SnapshotInfo> snapshots_;
  const repo::SnapshotInfo* newest_ = nullptr;
  std::uint64_t seg_bytes_ = 16u << 20;
  std::optional<double> source_bytes_;
  std::optional<pg::Lsn> source_lsn_;
  std::string source_problem_;
  SourceTransactions source_xacts_;
};

}  // namespace

json run_measure(const Config& cfg, const repo::Repository& repo, const std::vector<catalog::RunRecord>& drills) {
  return Measure(cfg, repo, drills).run();
}

}  // namespace pgdr::measure
