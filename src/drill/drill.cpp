#include "drill/drill.h"

#include <dirent.h>
#include <signal.h>

#include <algorithm>
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
  DIR* d = ::opendir(dr_path.c_str());
  if (!d) return 0;
  std::vector<std::string> candidates;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.starts_with(std::string(kDrillPrefix) + "-")) candidates.push_back(dr_path + "/" + name);
  }
  ::closedir(d);
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
  std::string status = "SKIPPED";
  double seconds = 0;
  std::string started_at;
  std::string error;
  json details = json::object();
};

json phase_json(const Phase& p) {
  json j = {{"name", p.name}, {"status", p.status}, {"seconds", round3(p.seconds)}, {"details", p.details}};
  if (!p.started_at.empty()) j["started_at"] = p.started_at;
  if (!p.error.empty()) j["error"] = p.error;
  return j;
}

}  // namespace

json run_drill(const Config& cfg, const repo::Repository& repo, const DrillOptions& opt) {
  const auto t0 = Clock::now();
  const SystemTime started_wall = std::chrono::system_clock::now();
  std::vector<Phase> phases = {Phase("prepare"), Phase("restore"), Phase("measure"), Phase("integrity"),
                               Phase("rollback")};
  bool failed = false;
  bool interrupted = false;

  std::unique_ptr<pg::ScratchServer> dr;
  SourceCapture capture;
  bool have_source = false;  // the source's newest commit is known
  bool source_live = false;  // the source answered when the drill started
  std::vector<std::string> databases;
  std::thread fingerprint_thread;
  std::string fingerprint_error;
  std::map<std::string, DatabaseFingerprint> source_fingerprints;
  std::string wal_limit;
  std::string stream_target;  // the LSN wal-stream had made durable at the declaration, if beyond the archive
  restore::RestoreResult restored;
  json components = json::object();
  std::optional<double> rto_seconds, rpo_seconds;
  json rpo = json::object();
  std::uint64_t copy_next_xid = 0;
  std::string dr_root;
  bool kept = false;

  auto run_phase = [&](Phase& p, const std::function<void(Phase&)>& body, bool always = false) {
    if ((failed || interrupted) && !always) return;
    if (opt.on_phase) opt.on_phase(p.name);
    p.started_at = utc_ms(std::chrono::system_clock::now());
    const auto start = Clock::now();
    try {
      p.status = "PASS";
      body(p);
    } catch (const Error& e) {
      p.status = "FAIL";
      p.error = e.what();
      if (e.kind() == ErrorKind::interrupted) interrupted = true;
      failed = true;
    } catch (const std::exception& e) {
      p.status = "FAIL";
      p.error = std::string("internal error: ") + e.what();
      failed = true;
    }
    p.seconds = seconds_since(start);
    if (interrupt_requested()) interrupted = true;
  };
  auto join_fingerprints = [&] {
    if (fingerprint_thread.joinable()) fingerprint_thread.join();
  };

  // ---- 1 prepare: a fresh DR place; the disaster is declared ------------------------------------
  run_phase(phases[0], [&](Phase& p) {
    std::vector<std::string> notes;
    std::string dr_path = cfg.drill.dr_path;
    if (dr_path.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      dr_path = tmp && *tmp == '/' ? tmp : "/tmp";
    }
    make_directories(dr_path, 0755);
    p.details["leftovers_removed"] = remove_leftovers(dr_path, notes);

    if (opt.captured_source) {
      capture = *opt.captured_source;
      have_source = true;
      source_fingerprints = capture.databases;
      fingerprint_error = capture.error;
      for (const auto& [db, fp] : capture.databases) databases.push_back(db);
      notes.push_back("the source was captured before it was lost (newest commit by " + capture.commit.method + ")");
    } else if (!cfg.cluster.conninfo.empty()) {
      try {
        pg::Connection source(cfg.cluster.conninfo);
        capture.superuser = source.query("SELECT rolname FROM pg_roles WHERE oid = 10").scalar();
        databases = source_databases(source, cfg.drill.database);
        capture.commit = capture_commit(source, cfg.drill.heartbeat, started_wall);
        have_source = true;
        source_live = true;
      } catch (const Error& e) {
        notes.push_back("the source does not answer (" + std::string(e.what()) +
                        "): RPO and contents cannot be compared with it");
      }
      if (source_live) {
        // Fingerprinting scans every table of the source: it runs beside the restore, under
        // snapshots taken now, so it neither delays the recovery nor sees later writes.
        fingerprint_thread = std::thread([&, conninfo = cfg.cluster.conninfo, dbs = databases] {
          try {
            source_fingerprints = capture_fingerprints(conninfo, dbs, kRecentWindow);
          } catch (const std::exception& e) {
            fingerprint_error = e.what();
          }
        });
      }
    } else {
      notes.push_back("no [cluster] conninfo: RPO and contents cannot be compared with the source");
    }

    pg::ScratchServerOptions so;
    so.parent_dir = dr_path;
    so.name_prefix = kDrillPrefix;
    so.server_user = cfg.drill.server_user;
    so.pg_bindir = cfg.cluster.pg_bindir;
    if (!capture.superuser.empty()) so.superuser = capture.superuser;
    dr = std::make_unique<pg::ScratchServer>(so);
    dr_root = dr->root();
    p.details["dr_directory"] = dr->root();
    p.details["dr_port"] = dr->port();

    auto snapshots = repo::list_snapshots(repo.store(), repo.key());
    if (snapshots.empty())
      throw Error(ErrorKind::not_found, "no snapshot in " + repo.describe(), "take one with 'pgdr backup'");
    const std::uint64_t seg_bytes =
        snapshots.back().wal_segment_bytes ? snapshots.back().wal_segment_bytes : (16u << 20);
    wal_limit = newest_archived_segment(repo, seg_bytes, snapshots.back().last_wal_segment);
    p.details["wal_archived_at_declaration"] = wal_limit;
    // WAL that wal-stream made durable is recoverable too, up to where it was at the declaration:
    // archive-get cuts the segment being streamed there (zeros after it end the WAL), since the
    // stream goes on growing while the drill runs.
    if (auto sp = stream::last_received(repo, seg_bytes);
        sp && !sp->partial_segment.empty() && sp->partial_segment > wal_limit &&
        opt.target.kind == restore::TargetKind::latest) {
      wal_limit = sp->partial_segment;
      stream_target = pg::to_string(sp->flushed);
      p.details["wal_streamed_at_declaration"] = stream_target;
    }
    if (have_source) {
      p.details["source_newest_commit"] = utc_ms(capture.commit.newest_commit);
      p.details["source_newest_commit_method"] = capture.commit.method;
      if (!capture.commit.lsn.empty()) p.details["source_wal_lsn"] = capture.commit.lsn;
    }
    p.details["notes"] = notes;
  });
  components["prepare"] = round3(phases[0].seconds);

  // ---- 2 restore --------------------------------------------------------------------------------
  run_phase(phases[1], [&](Phase& p) {
    restore::RestoreOptions ro;
    ro.target_dir = dr->data_dir();
    ro.snapshot = opt.snapshot;
    ro.process_max = opt.process_max;
    ro.target = opt.target;
    ro.target.action = "promote";
    ro.target.standby = false;
    ro.target.archive_get = opt.archive_get;
    ro.target.archive_get->until_segment = wal_limit;
    ro.target.archive_get->until_lsn = stream_target;
    restored = restore::run_restore(repo, ro);
    p.details["snapshot"] = restored.info.id;
    p.details["snapshot_stop_time"] = restored.info.stop_time;
    p.details["snapshot_start_lsn"] = restored.info.start_lsn;
    p.details["files"] = restored.files_written;
    p.details["bytes"] = restored.bytes_written;
    p.details["restore_seconds"] = round3(restored.seconds);
    if (restored.seconds > 0)
      p.details["mb_per_second"] = round3(restored.bytes_written / 1e6 / restored.seconds);
  });
  components["restore"] = round3(phases[1].seconds);

  // ---- 3 measure: start, replay, promote, check; RTO and RPO ------------------------------------
  run_phase(phases[2], [&](Phase& p) {
    auto t = Clock::now();
    dr->start(opt.start_timeout);
    components["startup"] = round3(seconds_since(t));
    t = Clock::now();
    dr->wait_promoted(opt.start_timeout);
    components["wal_replay"] = round3(seconds_since(t));

    t = Clock::now();
    std::optional<SystemTime> replayed;
    {
      pg::Connection c(dr->conninfo());
      // Before anything in the copy takes a transaction id: the integrity phase splits the
      // source's rows at this id.
      copy_next_xid = std::stoull(c.query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").scalar());
      auto r = c.query(
          "SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', "
          "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), pg_current_wal_lsn()::text, "
          "(SELECT timeline_id FROM pg_control_checkpoint())::text");
      if (!r.rows.empty() && r.rows[0][0]) replayed = parse_iso8601(*r.rows[0][0]);
      if (!r.rows.empty() && r.rows[0][1]) p.details["copy_wal_lsn"] = *r.rows[0][1];
    }
    std::string replay_method = "pg_last_xact_replay_timestamp()";
    if (!replayed) {
      replayed = replayed_commit_from_log(dr->log_path());
      replay_method = "the server log's \"last completed transaction\"";
    }
    if (!replayed) {
      // Nothing was replayed past the snapshot: its end is the newest point the copy holds.
      replayed = parse_iso8601(restored.info.stop_time);
      replay_method = "the snapshot's end (no transaction replayed)";
    }
    // Readiness as an application would see it: every compared database answers, and takes a write.
    std::vector<std::string> dbs = databases;
    if (dbs.empty()) {
      pg::Connection c(dr->conninfo());
      dbs = source_databases(c, cfg.drill.database);
    }
    for (const auto& db : dbs) {
      pg::Connection c(dr->conninfo(db));
      c.query("SELECT 1");
    }
    {
      pg::Connection c(dr->conninfo());
      c.exec("CREATE TEMPORARY TABLE pgdr_drill_write_check (x int)");
      c.exec("INSERT INTO pgdr_drill_write_check VALUES (1)");
      c.exec("DROP TABLE pgdr_drill_write_check");
    }
    components["checks"] = round3(seconds_since(t));
    p.details["databases_checked"] = dbs;

    if (!cfg.drill.app_check.empty()) {
      t = Clock::now();
      const auto deadline = t + cfg.drill.app_check_timeout;
      int attempts = 0;
      ProcessResult last;
      std::vector<std::string> env = dr->libpq_env(dbs.empty() ? "postgres" : dbs.front());
      while (true) {
        throw_if_interrupted();
        ++attempts;
        // Bounded by what is left of the timeout: a check that hangs must not hang the drill (its
        // process group is killed, and the attempt counts as failed).
        RunLimits limits;
        limits.timeout = std::max(std::chrono::milliseconds(1000),
                                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        last = run_limited({"/bin/sh", "-c", cfg.drill.app_check}, limits, env);
        if (last.timed_out) last.err = "did not finish within the timeout (killed)";
        if (last.exit_code == 0 && !last.timed_out) break;
        if (Clock::now() > deadline) {
          components["application"] = round3(seconds_since(t));
          std::string why = last.err.empty() ? last.out : last.err;
          if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
          throw Error(ErrorKind::postgres, "the application check failed for " +
                                               std::to_string(cfg.drill.app_check_timeout.count() / 1000) +
                                               " s (exit " + std::to_string(last.exit_code) + (why.empty() ? "" : ": " + why) + ")");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
      components["application"] = round3(seconds_since(t));
      p.details["app_check_attempts"] = attempts;
    }

    rto_seconds = round3(seconds_since(t0));
    if (have_source) {
      double lost = std::chrono::duration<double>(capture.commit.newest_commit - *replayed).count();
      rpo_seconds = round3(std::max(0.0, lost));
      rpo["source_newest_commit"] = utc_ms(capture.commit.newest_commit);
      rpo["source_method"] = capture.commit.method;
    }
    rpo["restored_newest_commit"] = utc_ms(*replayed);
    rpo["restored_method"] = replay_method;
    rpo["wal_used_up_to"] = wal_limit;
    p.details["rto_seconds"] = *rto_seconds;
    if (rpo_seconds) p.details["rpo_seconds"] = *rpo_seconds;
  });

  // ---- 4 integrity -------------------------------------------------------------------------------
  run_phase(phases[3], [&](Phase& p) {
    join_fingerprints();
    throw_if_interrupted();
    json dbs_json = json::object();
    bool compared = false;
    bool any_failed = false;
    std::vector<std::string> not_compared;
    if (!have_source || !fingerprint_error.empty() || source_fingerprints.empty()) {
      not_compared.push_back(!fingerprint_error.empty() ? "the source's contents could not be read: " + fingerprint_error
                                                        : "the source could not be compared");
    }
    for (const auto& [db, src] : source_fingerprints) {
      if (!fingerprint_error.empty()) break;
      pg::Connection c(dr->conninfo(db));
      c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      DatabaseFingerprint copy = fingerprint_database(c, 0);
      c.exec("COMMIT");
      DatabaseComparison cmp = compare_databases(src, copy, copy_next_xid);
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
                      {"result", cmp.failed() ? "FAIL" : "PASS"}};
      any_failed |= cmp.failed();
    }
    p.details["databases"] = dbs_json;
    p.details["compared_with_source"] = compared;
    if (!not_compared.empty()) p.details["not_compared"] = not_compared;

    pg::AmcheckOptions ao;
    ao.program = pg::find_client_program("pg_amcheck", dr->programs());
    ao.libpq_env = dr->libpq_env();
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
      p.status = "FAIL";
      p.error = "integrity check failed: " + (culprits.empty() ? std::string("see details") : culprits.front()) +
                (culprits.size() > 1 ? " (and " + std::to_string(culprits.size() - 1) + " more)" : "");
      failed = true;
    } else if (!compared) {
      p.status = "WARN";
    }
  });

  // ---- 5 rollback: always ----------------------------------------------------------------------
  run_phase(
      phases[4],
      [&](Phase& p) {
        join_fingerprints();
        if (dr) {
          dr->stop();
          if (opt.keep) {
            dr->keep();
            kept = true;
            p.details["kept"] = dr->root();
          }
          dr.reset();
          if (!kept && ::access(dr_root.c_str(), F_OK) == 0)
            throw Error(ErrorKind::io, "unable to remove the DR directory " + dr_root);
          p.details["removed"] = !kept;
        }
        if (source_live) {
          pg::Connection c(cfg.cluster.conninfo);
          bool recovering = c.query("SELECT pg_is_in_recovery()").scalar() == "t";
          p.details["source_healthy"] = true;
          p.details["source_in_recovery"] = recovering;
        }
      },
      true);
  join_fingerprints();

  // ---- report ------------------------------------------------------------------------------------
  json report;
  report["kind"] = "drill";
  report["pgdr_version"] = PGDR_VERSION;
  // Who ran it, as the audit log names them: a drill report is evidence for an auditor.
  report["host"] = repo::current_host_name();
  report["os_user"] = repo::current_user_name();
  report["cluster"] = cfg.cluster.name;
  report["repository"] = repo.name();
  report["started_at"] = utc_ms(started_wall);
  // When the disaster happened, if the caller knows it (the demo); otherwise the drill's start.
  report["declared_at"] = utc_ms(opt.declared_at.value_or(started_wall));
  report["finished_at"] = utc_ms(std::chrono::system_clock::now());
  report["seconds"] = round3(seconds_since(t0));
  report["snapshot"] = restored.info.id.empty() ? json(nullptr) : json(restored.info.id);
  report["interrupted"] = interrupted;
  const double rto_obj = std::chrono::duration<double>(cfg.objectives.rto).count();
  const double rpo_obj = std::chrono::duration<double>(cfg.objectives.rpo).count();
  report["objectives"] = {{"rto_seconds", rto_obj}, {"rpo_seconds", rpo_obj}};
  report["rto_seconds"] = rto_seconds ? json(*rto_seconds) : json(nullptr);
  report["rpo_seconds"] = rpo_seconds ? json(*rpo_seconds) : json(nullptr);

  std::string result = "PASS";
  for (const auto& p : phases) {
    if (p.status == "FAIL") result = "FAIL";
    else if (p.status == "WARN") result = worse_status(result, "WARN");
  }
  json rto = {{"components", components},
              {"method",
               "wall clock from the drill's start (disaster declared) until the restored cluster was promoted, "
               "answered in every compared database, took a write, and passed the application check"}};
  if (rto_seconds) {
    rto["status"] = *rto_seconds <= rto_obj ? "PASS" : "FAIL";
    rto["margin_seconds"] = round3(rto_obj - *rto_seconds);
    result = worse_status(result, rto["status"]);
  }
  rpo["method"] = "the source's newest commit at the disaster against the newest commit replayed in the copy, "
                  "which used only the WAL archived (or made durable by wal-stream) when the disaster was declared";
  if (!stream_target.empty()) rpo["wal_streamed_up_to"] = stream_target;
  if (rpo_seconds) {
    rpo["status"] = *rpo_seconds <= rpo_obj ? "PASS" : "FAIL";
    rpo["margin_seconds"] = round3(rpo_obj - *rpo_seconds);
    result = worse_status(result, rpo["status"]);
    if (capture.commit.method == "declared time") {
      rpo["note"] = "an upper bound: the source records no commit times and no heartbeat was allowed";
    }
  } else if (!failed) {
    rpo["status"] = "WARN";
    rpo["note"] = "the source's newest commit is unknown (source unreachable)";
    result = worse_status(result, "WARN");
  }
  report["rto"] = rto;
  report["rpo"] = rpo;
  report["phases"] = json::array();
  for (const auto& p : phases) report["phases"].push_back(phase_json(p));
  report["result"] = result;
  report["recommendations"] = recommendations(report);
  return report;
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
