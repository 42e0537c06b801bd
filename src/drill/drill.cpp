#include "drill/drill.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "core/check_status.h"
#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/process.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "pg/amcheck.h"
#include "pg/binaries.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/scratch_server.h"
#include "repo/audit_log.h"
#include "repo/snapshot_info.h"
#include "repo/wal_archive.h"
#include "restore/restore.h"
#include "stream/wal_receiver.h"

namespace pgdr::drill {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Transactions the source capture keeps apart by xmin: the copy may lose up to this many and still
// be compared table by table (fingerprint.h). Bounds the capture's memory on busy tables.
constexpr std::uint64_t kRecentWindow = 200'000;
constexpr const char* kDrillPrefix = "pgdr-drill";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double round3(double v) { return std::round(v * 1000) / 1000; }

// The newest segment archived right now, over every timeline: the end of the WAL a recovery
// started at this moment could have read.
std::string newest_archived_segment(const repo::Repository& repo, std::uint64_t segment_bytes,
                                    const std::string& fallback) {
  auto wal = repo::list_wal(repo, segment_bytes);
  std::string newest = fallback;
  for (const auto& [tli, segs] : wal.segments) {
    if (segs.empty()) continue;
    std::string name = pg::segment_file_name(tli, segs.back(), segment_bytes);
    if (name > newest) newest = name;
  }
  return newest;
}

// Directories of earlier drills in dr_path whose server is gone: an interrupted drill killed with
// SIGKILL leaves one. A directory whose postmaster still runs belongs to a drill in progress.
int remove_leftovers(const std::string& dr_path, std::vector<std::string>& notes) {
  int removed = 0;
  std::vector<std::string> candidates;
  for (const auto& name : list_directory(dr_path).value_or(std::vector<std::string>{}))
    if (name.starts_with(std::string(kDrillPrefix) + "-")) candidates.push_back(dr_path + "/" + name);
  for (const auto& dir : candidates) {
    std::ifstream pidfile(dir + "/data/postmaster.pid");
    long pid = 0;
    if (pidfile >> pid && pid > 0 && process_alive(static_cast<pid_t>(pid))) {
      notes.push_back("left alone: " + dir + " (its server, pid " + std::to_string(pid) + ", is running)");
      continue;
    }
    remove_tree(dir);
    notes.push_back("removed the leftover " + dir);
    ++removed;
  }
  return removed;
}

std::optional<SystemTime> replayed_commit_from_log(const std::string& log_path) {
  // "LOG:  last completed transaction was at log time 2026-11-26 03:01:02.123456+00"
  std::ifstream in(log_path);
  std::optional<SystemTime> found;
  for (std::string line; std::getline(in, line);) {
    auto at = line.find("last completed transaction was at log time ");
    if (at == std::string::npos) continue;
    std::string t = line.substr(at + 43);
    // "YYYY-MM-DD HH:MM:SS.ffffff+00" -> ISO with millisecond precision
    if (t.size() >= 19) {
      std::string iso = t.substr(0, 10) + "T" + t.substr(11, 8);
      std::string frac = "000";
      if (t.size() > 20 && t[19] == '.') frac = (t.substr(20, 3) + "000").substr(0, 3);
      if (auto p = parse_iso8601(iso + "." + frac + "Z")) found = p;
    }
  }
  return found;
}

std::string utc_ms(SystemTime t) { return iso8601_ms(t); }

struct Phase {
  explicit Phase(std::string n) : name(std::move(n)) {}
  std::string name;
  std::optional<CheckStatus> status;  // none: not run ("SKIPPED"), after an earlier failure
  double seconds = 0;
  std::string started_at;
  std::string error;
  json details = json::object();
};

json phase_json(const Phase& p) {
  json j = {{"name", p.name},
            {"status", p.status ? to_string(*p.status) : "SKIPPED"},
            {"seconds", round3(p.seconds)},
            {"details", p.details}};
  if (!p.started_at.empty()) j["started_at"] = p.started_at;
  if (!p.error.empty()) j["error"] = p.error;
  return j;
}

// One drill: its members are what the phases learn and hand on; run() sequences the phases as
// drill.h describes them. The source is fingerprinted on a thread of its own beside the restore,
// joined by the integrity phase, which reads the result, by the rollback, which always runs, and
// by the destructor should anything else end the drill.
class Drill {
 public:
  Drill(const Config& cfg, const repo::Repository& repo, const DrillOptions& opt)
      : cfg_(cfg), repo_(repo), opt_(opt) {}
  Drill(const Drill&) = delete;
  Drill& operator=(const Drill&) = delete;

  json run() {
    run_phase(prepare_, &Drill::prepare);
    components_["prepare"] = round3(prepare_.seconds);
    run_phase(restore_, &Drill::restore_snapshot);
    components_["restore"] = round3(restore_.seconds);
    run_phase(measure_, &Drill::measure);
    run_phase(integrity_, &Drill::check_integrity);
    run_phase(rollback_, &Drill::roll_back, /*always=*/true);
    return report();
  }

 private:
  // Runs body as phase p, timed, unless an earlier phase failed or was interrupted (always: the
  // rollback). A phase passes unless body throws or judges otherwise.
  void run_phase(Phase& p, void (Drill::*body)(Phase&), bool always = false) {
    if ((failed_ || interrupted_) && !always) return;
    if (opt_.on_phase) opt_.on_phase(p.name);
    p.started_at = utc_ms(std::chrono::system_clock::now());
    const auto start = Clock::now();
    try {
      p.status = CheckStatus::pass;
      (this->*body)(p);
    } catch (const Error& e) {
      p.status = CheckStatus::fail;
      p.error = e.what();
      if (e.kind() == ErrorKind::interrupted) interrupted_ = true;
      failed_ = true;
    } catch (const std::exception& e) {
      p.status = CheckStatus::fail;
      p.error = std::string("internal error: ") + e.what();
      failed_ = true;
    }
    p.seconds = seconds_since(start);
    if (interrupt_requested()) interrupted_ = true;
  }

  void join_fingerprints() {
    if (fingerprint_thread_.joinable()) fingerprint_thread_.join();
  }

  // ---- 1 prepare: a fresh DR place; the disaster is declared ------------------------------------
  void prepare(Phase& p) {
    std::vector<std::string> notes;
    std::string dr_path = cfg_.drill.dr_path;
    if (dr_path.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      dr_path = tmp && *tmp == '/' ? tmp : "/tmp";
    }
    make_directories(dr_path, 0755);
    p.details["leftovers_removed"] = remove_leftovers(dr_path, notes);

    // The declaration, in this order: the source's newest commit, then how far the WAL reached, then
    // the source's contents. The copy stops where the WAL reached; contents read after that point
    // hold everything the copy can hold, and what they hold beyond it is kept apart by transaction
    // id (fingerprint.h). Read before it, they would miss commits the copy replays.
    capture_source(notes);
    fix_wal_limit(p);
    start_fingerprints();

    pg::ScratchServerOptions so;
    so.parent_dir = dr_path;
    so.name_prefix = kDrillPrefix;
    so.server_user = cfg_.drill.server_user;
    so.pg_bindir = cfg_.cluster.pg_bindir;
    if (!capture_.superuser.empty()) so.superuser = capture_.superuser;
    dr_ = std::make_unique<pg::ScratchServer>(so);
    dr_root_ = dr_->root();
    p.details["dr_directory"] = dr_->root();
    p.details["dr_port"] = dr_->port();
    if (have_source_) {
      p.details["source_newest_commit"] = utc_ms(capture_.commit.newest_commit);
      p.details["source_newest_commit_method"] = capture_.commit.method;
      if (!capture_.commit.lsn.empty()) p.details["source_wal_lsn"] = capture_.commit.lsn;
    }
    p.details["notes"] = notes;
  }

  // The WAL the copy may use: what the archive held and wal-stream had made durable at the
  // declaration.
  void fix_wal_limit(Phase& p) {
    auto snapshots = repo::list_snapshots(repo_.store(), repo_.key());
    if (snapshots.empty())
      throw Error(ErrorKind::not_found, "no snapshot in " + repo_.describe(), "take one with 'pgdr backup'");
    const std::uint64_t seg_bytes =
        snapshots.back().wal_segment_bytes ? snapshots.back().wal_segment_bytes : pg::kDefaultWalSegmentBytes;
    wal_limit_ = newest_archived_segment(repo_, seg_bytes, snapshots.back().last_wal_segment);
    p.details["wal_archived_at_declaration"] = wal_limit_;
    // WAL that wal-stream made durable is recoverable too, up to where it was at the declaration:
    // archive-get cuts the segment being streamed there (zeros after it end the WAL), since the
    // stream goes on growing while the drill runs.
    if (auto sp = stream::last_received(repo_, seg_bytes);
        sp && !sp->partial_segment.empty() && sp->partial_segment > wal_limit_ &&
        opt_.target.kind == restore::TargetKind::latest) {
      wal_limit_ = sp->partial_segment;
      stream_target_ = pg::to_string(sp->flushed);
      p.details["wal_streamed_at_declaration"] = stream_target_;
    }
  }

  // The source at the declaration: as the caller captured it before it was lost, or from [cluster]
  // conninfo when it answers (its newest commit now, its contents on the fingerprint thread).
  void capture_source(std::vector<std::string>& notes) {
    if (opt_.captured_source) {
      capture_ = *opt_.captured_source;
      have_source_ = true;
      source_fingerprints_ = capture_.databases;
      fingerprint_error_ = capture_.error;
      for (const auto& [db, fp] : capture_.databases) databases_.push_back(db);
      notes.push_back("the source was captured before it was lost (newest commit by " + capture_.commit.method + ")");
      return;
    }
    if (cfg_.cluster.conninfo.empty()) {
      notes.push_back("no [cluster] conninfo: RPO and contents cannot be compared with the source");
      return;
    }
    try {
      pg::Connection source(cfg_.cluster.conninfo);
      capture_.superuser = source.query("SELECT rolname FROM pg_roles WHERE oid = 10").scalar();
      databases_ = source_databases(source, cfg_.drill.database);
      capture_.commit = capture_commit(source, cfg_.drill.heartbeat, started_wall_);
      have_source_ = true;
      source_live_ = true;
    } catch (const Error& e) {
      notes.push_back("the source does not answer (" + std::string(e.what()) +
                      "): RPO and contents cannot be compared with it");
    }
  }

  // Fingerprinting scans every table of the source: it runs beside the restore, under snapshots
  // taken now, so it neither delays the recovery nor sees later writes.
  void start_fingerprints() {
    if (!source_live_) return;
    fingerprint_thread_ = std::jthread([this, conninfo = cfg_.cluster.conninfo, dbs = databases_] {
      try {
        source_fingerprints_ = capture_fingerprints(conninfo, dbs, kRecentWindow);
      } catch (const std::exception& e) {
        fingerprint_error_ = e.what();
      }
    });
  }

  // ---- 2 restore: the snapshot into the DR directory, reading only the WAL of the declaration ----
  void restore_snapshot(Phase& p) {
    restore::RestoreOptions ro;
    ro.target_dir = dr_->data_dir();
    ro.snapshot = opt_.snapshot;
    ro.process_max = opt_.process_max;
    ro.target = opt_.target;
    ro.target.action = "promote";
    ro.target.standby = false;
    ro.target.archive_get = opt_.archive_get;
    ro.target.archive_get->until_segment = wal_limit_;
    ro.target.archive_get->until_lsn = stream_target_;
    restored_ = restore::run_restore(repo_, ro);
    p.details["snapshot"] = restored_.info.id;
    p.details["snapshot_stop_time"] = restored_.info.stop_time;
    p.details["snapshot_start_lsn"] = restored_.info.start_lsn;
    p.details["files"] = restored_.files_written;
    p.details["bytes"] = restored_.bytes_written;
    p.details["restore_seconds"] = round3(restored_.seconds);
    if (restored_.seconds > 0)
      p.details["mb_per_second"] = round3(restored_.bytes_written / 1e6 / restored_.seconds);
  }

  // ---- 3 measure: start, replay, promote, check; RTO and RPO ------------------------------------
  void measure(Phase& p) {
    auto t = Clock::now();
    dr_->start(opt_.start_timeout);
    components_["startup"] = round3(seconds_since(t));
    t = Clock::now();
    dr_->wait_promoted(opt_.start_timeout);
    components_["wal_replay"] = round3(seconds_since(t));

    t = Clock::now();
    std::string replay_method;
    const SystemTime replayed = newest_replayed_commit(p, replay_method);
    const std::vector<std::string> dbs = check_readiness();
    components_["checks"] = round3(seconds_since(t));
    p.details["databases_checked"] = dbs;

    if (!cfg_.drill.app_check.empty()) {
      t = Clock::now();
      p.details["app_check_attempts"] = run_app_check(dbs, t);
      components_["application"] = round3(seconds_since(t));
    }

    rto_seconds_ = round3(seconds_since(t0_));
    if (have_source_) {
      double lost = std::chrono::duration<double>(capture_.commit.newest_commit - replayed).count();
      rpo_seconds_ = round3(std::max(0.0, lost));
      rpo_["source_newest_commit"] = utc_ms(capture_.commit.newest_commit);
      rpo_["source_method"] = capture_.commit.method;
    }
    rpo_["restored_newest_commit"] = utc_ms(replayed);
    rpo_["restored_method"] = replay_method;
    rpo_["wal_used_up_to"] = wal_limit_;
    p.details["rto_seconds"] = *rto_seconds_;
    if (rpo_seconds_) p.details["rpo_seconds"] = *rpo_seconds_;
  }

  // The newest commit the promoted copy holds, and how it was found (method). Reads the copy's next
  // transaction id first, before anything in the copy takes one: the integrity phase splits the
  // source's rows at it.
  SystemTime newest_replayed_commit(Phase& p, std::string& method) {
    std::optional<SystemTime> replayed;
    {
      pg::Connection c(dr_->conninfo());
      copy_next_xid_ = std::stoull(c.query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").scalar());
      auto r = c.query(
          "SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', "
          "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), pg_current_wal_lsn()::text, "
          "(SELECT timeline_id FROM pg_control_checkpoint())::text");
      if (!r.rows.empty() && r.rows[0][0]) replayed = parse_iso8601(*r.rows[0][0]);
      if (!r.rows.empty() && r.rows[0][1]) p.details["copy_wal_lsn"] = *r.rows[0][1];
    }
    method = "pg_last_xact_replay_timestamp()";
    if (!replayed) {
      replayed = replayed_commit_from_log(dr_->log_path());
      method = "the server log's \"last completed transaction\"";
    }
    if (!replayed) {
      // Nothing was replayed past the snapshot: its end is the newest point the copy holds.
      replayed = parse_iso8601(restored_.info.stop_time);
      method = "the snapshot's end (no transaction replayed)";
    }
    return *replayed;
  }

  // Readiness as an application would see it: every compared database answers, and takes a write.
  // Returns the databases checked.
  std::vector<std::string> check_readiness() {
    std::vector<std::string> dbs = databases_;
    if (dbs.empty()) {
      pg::Connection c(dr_->conninfo());
      dbs = source_databases(c, cfg_.drill.database);
    }
    for (const auto& db : dbs) {
      pg::Connection c(dr_->conninfo(db));
      c.query("SELECT 1");
    }
    pg::Connection c(dr_->conninfo());
    c.exec("CREATE TEMPORARY TABLE pgdr_drill_write_check (x int)");
    c.exec("INSERT INTO pgdr_drill_write_check VALUES (1)");
    c.exec("DROP TABLE pgdr_drill_write_check");
    return dbs;
  }

  // [drill] app_check against the copy, retried until it succeeds or its timeout (from started)
  // passes; returns the attempts made. Throws when it never succeeded.
  int run_app_check(const std::vector<std::string>& dbs, Clock::time_point started) {
    const auto deadline = started + cfg_.drill.app_check_timeout;
    int attempts = 0;
    ProcessResult last;
    std::vector<std::string> env = dr_->libpq_env(dbs.empty() ? "postgres" : dbs.front());
    while (true) {
      throw_if_interrupted();
      ++attempts;
      // Bounded by what is left of the timeout: a check that hangs must not hang the drill (its
      // process group is killed, and the attempt counts as failed).
      RunLimits limits;
      limits.timeout = std::max(std::chrono::milliseconds(1000),
                                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      last = run_limited({"/bin/sh", "-c", cfg_.drill.app_check}, limits, env);
      if (last.timed_out) last.err = "did not finish within the timeout (killed)";
      if (last.exit_code == 0 && !last.timed_out) return attempts;
      if (Clock::now() > deadline) {
        components_["application"] = round3(seconds_since(started));
        std::string why = last.err.empty() ? last.out : last.err;
        if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
        throw Error(ErrorKind::postgres, "the application check failed for " +
                                             std::to_string(cfg_.drill.app_check_timeout.count() / 1000) +
                                             " s (exit " + std::to_string(last.exit_code) + (why.empty() ? "" : ": " + why) + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  // ---- 4 integrity: the copy against the source at the same point, and pg_amcheck ---------------
  void check_integrity(Phase& p) {
    join_fingerprints();
    throw_if_interrupted();
    json dbs_json = json::object();
    bool compared = false;
    bool any_failed = false;
    std::vector<std::string> not_compared;
    if (!have_source_ || !fingerprint_error_.empty() || source_fingerprints_.empty()) {
      not_compared.push_back(!fingerprint_error_.empty() ? "the source's contents could not be read: " + fingerprint_error_
                                                         : "the source could not be compared");
    }
    for (const auto& [db, src] : source_fingerprints_) {
      if (!fingerprint_error_.empty()) break;
      pg::Connection c(dr_->conninfo(db));
      c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      DatabaseFingerprint copy = fingerprint_database(c, 0);
      c.exec("COMMIT");
      DatabaseComparison cmp = compare_databases(src, copy, copy_next_xid_);
      compared = true;
      json tables = json::array();
      std::map<std::string, int> counts;
      for (const auto& t : cmp.tables) {
        counts[verdict_name(t.verdict)]++;
        if (t.verdict != TableVerdict::identical)
          tables.push_back({{"table", t.table}, {"verdict", verdict_name(t.verdict)}, {"detail", t.detail}});
      }
      dbs_json[db] = {{"schema_only_in_source", cmp.schema_only_in_source},
                      {"schema_only_in_copy", cmp.schema_only_in_copy},
                      {"tables_by_verdict", counts},
                      {"tables_not_identical", tables},
                      {"result", to_string(cmp.failed() ? CheckStatus::fail : CheckStatus::pass)}};
      any_failed |= cmp.failed();
    }
    p.details["databases"] = dbs_json;
    p.details["compared_with_source"] = compared;
    if (!not_compared.empty()) p.details["not_compared"] = not_compared;

    pg::AmcheckOptions ao;
    ao.program = pg::find_client_program("pg_amcheck", dr_->programs());
    ao.libpq_env = dr_->libpq_env();
    pg::AmcheckResult am = pg::run_amcheck(ao);
    p.details["amcheck"] = {{"ok", am.ok},
                            {"exit_code", am.exit_code},
                            {"seconds", round3(am.seconds)},
                            {"relations", am.relations},
                            {"output", am.lines}};
    std::vector<std::string> culprits;
    for (const auto& [db, j] : dbs_json.items())
      for (const auto& t : j["tables_not_identical"])
        if (t["verdict"] == "mismatch" || t["verdict"] == "missing" || t["verdict"] == "unreadable")
          culprits.push_back(db + "." + t["table"].get<std::string>() + ": " + t["detail"].get<std::string>());
    for (const auto& r : am.relations) culprits.push_back(r + ": amcheck");
    if (!am.ok && am.relations.empty() && !am.lines.empty()) culprits.push_back("amcheck: " + am.lines.front());
    p.details["culprits"] = culprits;
    if (any_failed || !am.ok) {
      p.status = CheckStatus::fail;
      p.error = "integrity check failed: " + (culprits.empty() ? std::string("see details") : culprits.front()) +
                (culprits.size() > 1 ? " (and " + std::to_string(culprits.size() - 1) + " more)" : "");
      failed_ = true;
    } else if (!compared) {
      p.status = CheckStatus::warn;
    }
  }

  // ---- 5 rollback: always ------------------------------------------------------------------------
  void roll_back(Phase& p) {
    join_fingerprints();
    if (dr_) {
      dr_->stop();
      if (opt_.keep) {
        dr_->keep();
        kept_ = true;
        p.details["kept"] = dr_->root();
      }
      dr_.reset();
      if (!kept_ && ::access(dr_root_.c_str(), F_OK) == 0)
        throw Error(ErrorKind::io, "unable to remove the DR directory " + dr_root_);
      p.details["removed"] = !kept_;
    }
    if (source_live_) {
      pg::Connection c(cfg_.cluster.conninfo);
      bool recovering = c.query("SELECT pg_is_in_recovery()").scalar() == "t";
      p.details["source_healthy"] = true;
      p.details["source_in_recovery"] = recovering;
    }
  }

  // ---- report -------------------------------------------------------------------------------------
  json report() const {
    json report;
    report["kind"] = "drill";
    report["pgdr_version"] = PGDR_VERSION;
    // Who ran it, as the audit log names them: a drill report is evidence for an auditor.
    report["host"] = repo::current_host_name();
    report["os_user"] = repo::current_user_name();
    report["cluster"] = cfg_.cluster.name;
    report["repository"] = repo_.name();
    report["started_at"] = utc_ms(started_wall_);
    // When the disaster happened, if the caller knows it (the demo); otherwise the drill's start.
    report["declared_at"] = utc_ms(opt_.declared_at.value_or(started_wall_));
    report["finished_at"] = utc_ms(std::chrono::system_clock::now());
    report["seconds"] = round3(seconds_since(t0_));
    report["snapshot"] = restored_.info.id.empty() ? json(nullptr) : json(restored_.info.id);
    report["interrupted"] = interrupted_;
    const double rto_obj = std::chrono::duration<double>(cfg_.objectives.rto).count();
    const double rpo_obj = std::chrono::duration<double>(cfg_.objectives.rpo).count();
    report["objectives"] = {{"rto_seconds", rto_obj}, {"rpo_seconds", rpo_obj}};
    report["rto_seconds"] = rto_seconds_ ? json(*rto_seconds_) : json(nullptr);
    report["rpo_seconds"] = rpo_seconds_ ? json(*rpo_seconds_) : json(nullptr);

    CheckStatus result = CheckStatus::pass;
    for (const Phase* p : phases())
      if (p->status) result = worse(result, *p->status);
    json rto = {{"components", components_},
                {"method",
                 "wall clock from the drill's start (disaster declared) until the restored cluster was promoted, "
                 "answered in every compared database, took a write, and passed the application check"}};
    if (rto_seconds_) {
      const CheckStatus status = *rto_seconds_ <= rto_obj ? CheckStatus::pass : CheckStatus::fail;
      rto["status"] = to_string(status);
      rto["margin_seconds"] = round3(rto_obj - *rto_seconds_);
      result = worse(result, status);
    }
    json rpo = rpo_;
    rpo["method"] = "the source's newest commit at the disaster against the newest commit replayed in the copy, "
                    "which used only the WAL archived (or made durable by wal-stream) when the disaster was declared";
    if (!stream_target_.empty()) rpo["wal_streamed_up_to"] = stream_target_;
    if (rpo_seconds_) {
      const CheckStatus status = *rpo_seconds_ <= rpo_obj ? CheckStatus::pass : CheckStatus::fail;
      rpo["status"] = to_string(status);
      rpo["margin_seconds"] = round3(rpo_obj - *rpo_seconds_);
      result = worse(result, status);
      if (capture_.commit.method == "declared time") {
        rpo["note"] = "an upper bound: the source records no commit times and no heartbeat was allowed";
      }
    } else if (!failed_) {
      rpo["status"] = to_string(CheckStatus::warn);
      rpo["note"] = "the source's newest commit is unknown (source unreachable)";
      result = worse(result, CheckStatus::warn);
    }
    report["rto"] = rto;
    report["rpo"] = rpo;
    report["phases"] = json::array();
    for (const Phase* p : phases()) report["phases"].push_back(phase_json(*p));
    report["result"] = to_string(result);
    report["recommendations"] = recommendations(report);
    return report;
  }

  std::array<const Phase*, 5> phases() const { return {&prepare_, &restore_, &measure_, &integrity_, &rollback_}; }

  const Config& cfg_;
  const repo::Repository& repo_;
  const DrillOptions& opt_;
  const Clock::time_point t0_ = Clock::now();
  const SystemTime started_wall_ = std::chrono::system_clock::now();

  // The five phases, in the order they run and are reported.
  Phase prepare_{"prepare"}, restore_{"restore"}, measure_{"measure"}, integrity_{"integrity"}, rollback_{"rollback"};
  bool failed_ = false;
  bool interrupted_ = false;

  // The source at the declaration (prepare).
  SourceCapture capture_;
  bool have_source_ = false;  // the source's newest commit is known
  bool source_live_ = false;  // the source answered when the drill started
  std::vector<std::string> databases_;
  // The WAL the copy may read: the newest segment archived at the declaration, and the LSN
  // wal-stream had made durable then, if beyond the archive (prepare).
  std::string wal_limit_;
  std::string stream_target_;

  // The DR server (prepare to rollback) and what it holds.
  std::unique_ptr<pg::ScratchServer> dr_;
  std::string dr_root_;
  bool kept_ = false;
  restore::RestoreResult restored_;
  std::uint64_t copy_next_xid_ = 0;  // the copy's next transaction id once promoted (measure)

  // RTO and RPO (measure).
  json components_ = json::object();
  std::optional<double> rto_seconds_, rpo_seconds_;
  json rpo_ = json::object();

  // Written by the fingerprint thread, read after it is joined (integrity).
  std::map<std::string, DatabaseFingerprint> source_fingerprints_;
  std::string fingerprint_error_;
  // Last, so that it is joined (std::jthread's destructor) before anything it writes is destroyed.
  std::jthread fingerprint_thread_;
};

}  // namespace

json run_drill(const Config& cfg, const repo::Repository& repo, const DrillOptions& opt) {
  return Drill(cfg, repo, opt).run();
}

std::vector<std::string> recommendations(const json& report) {
  std::vector<std::string> out;
  auto num = [](const json& j, const char* key) -> std::optional<double> {
    if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
    return std::nullopt;
  };
  auto rto = num(report, "rto_seconds");
  auto rpo = num(report, "rpo_seconds");
  const json& obj = report["objectives"];
  const json comps = report.contains("rto") ? report["rto"].value("components", json::object()) : json::object();
  if (rto && *rto > 0) {
    auto pct = [&](const char* k) { return comps.contains(k) ? 100.0 * comps[k].get<double>() / *rto : 0.0; };
    char line[256];
    if (pct("wal_replay") >= 40) {
      std::snprintf(line, sizeof line,
                    "WAL replay is %.0f%% of the RTO: take snapshots more often, so that recovery replays less WAL",
                    pct("wal_replay"));
      out.push_back(line);
    }
    if (pct("restore") >= 50) {
      std::snprintf(line, sizeof line,
                    "restoring the snapshot is %.0f%% of the RTO: raise [backup] process_max or restore to a faster "
                    "disk ([drill] dr_path should be the disk a real recovery would use)",
                    pct("restore"));
      out.push_back(line);
    }
    if (pct("application") >= 30) {
      std::snprintf(line, sizeof line, "the application check is %.0f%% of the RTO", pct("application"));
      out.push_back(line);
    }
    double o = obj.value("rto_seconds", 0.0);
    if (o > 0 && *rto > o) out.push_back("the RTO objective is breached: see which component dominates above");
    else if (o > 0 && *rto > 0.5 * o)
      out.push_back("the RTO uses more than half of its objective: little margin for a larger database");
  }
  if (rpo) {
    double o = obj.value("rpo_seconds", 0.0);
    if (o > 0 && *rpo > o)
      out.push_back("the RPO objective is breached: lower archive_timeout, check that archiving keeps up, or stream "
                    "WAL with pgdr wal-stream");
    else if (o > 0 && *rpo > 0.5 * o)
      out.push_back("the RPO uses more than half of its objective: lower archive_timeout or stream WAL");
  }
  if (report.contains("rpo") && report["rpo"].value("source_method", "") == "declared time")
    out.push_back("the RPO is an upper bound: set [drill] heartbeat = true (or track_commit_timestamp = on on the "
                  "source) for an exact figure");
  for (const auto& p : report["phases"]) {
    if (p["name"] == "integrity" && p["status"] == "WARN")
      out.push_back("the copy was not compared with the source: make [cluster] conninfo reachable from the DR host");
  }
  return out;
}

}  // namespace pgdr::drill
