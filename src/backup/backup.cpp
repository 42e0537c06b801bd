#include "backup/backup.h"

#include <climits>
#include <cstdlib>

#include <chrono>
#include <memory>

#include "backup/backup_run.h"
#include "backup/backup_target.h"
#include "backup/change_source.h"
#include "backup/server_facts.h"
#include "backup/source_files.h"
#include "backup/wal_place.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/time_format.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/version.h"
#include "repo/format.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/pack.h"

namespace pgdr::backup {

namespace {

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!realpath(p.c_str(), buf)) return p;
  return buf;
}

// A new snapshot reuses the previous one's blocks where they lie, so they must be in packs this
// pgdr reads: one pack of another format (a development build's) would make every snapshot
// from now on fail to restore. One pack's tail tells, as a repository's packs share a format.
void require_readable_packs(const repo::Repository& repo, const repo::ManifestIndex& previous,
                            const std::string& snapshot_id) {
  if (previous.pack_count() == 0) return;
  auto v = repo::pack_version(repo.store(), previous.pack_id(0));
  if (v && *v != repo::kPackVersion)
    throw Error(ErrorKind::corrupt,
                "snapshot " + snapshot_id + " in repository '" + repo.name() + "' at " + repo.store().describe() +
                    " is stored in packs of format version " + std::to_string(*v) + ", this pgdr reads version " +
                    std::to_string(repo::kPackVersion),
                "back up to a new repository (pgdr init); restore that snapshot with the pgdr that wrote it");
}

// The files of the first pass. On a standby pg_control waits for a pass of its own after every
// other file: its minimum recovery point becomes the restored cluster's end of backup, so it must
// be read after the newest page of any file (what pg_basebackup does too).
std::vector<const SourceFile*> files_of_pass(const SourceTree& tree, bool standby, bool control_pass) {
  std::vector<const SourceFile*> files;
  for (const auto& f : tree.files) {
    bool control = standby && f.entry.path == "global/pg_control";
    if (control == control_pass) files.push_back(&f);
  }
  return files;
}

}  // namespace

BackupResult run_backup(const ClusterConfig& cluster, const std::vector<repo::Repository*>& repos,
                        const BackupOptions& options) {
  if (cluster.pgdata.empty()) throw Error(ErrorKind::config, "[cluster] pgdata is not set");
  if (repos.empty()) throw Error(ErrorKind::internal, "backup to no repository");
  // One pass cuts every file into blocks of one size for all repositories.
  for (const auto* r : repos)
    if (r->settings().block_bytes != repos.front()->settings().block_bytes)
      throw Error(ErrorKind::config,
                  "repositories '" + repos.front()->name() + "' and '" + r->name() + "' use different block sizes (" +
                      std::to_string(repos.front()->settings().block_bytes) + " and " +
                      std::to_string(r->settings().block_bytes) + " bytes): one backup cannot write to both",
                  "back up to each with --repo NAME");
  auto started = std::chrono::steady_clock::now();
  pg::Connection conn(cluster.conninfo);
  const ServerFacts facts = read_server_facts(conn);
  require_backup_possible(facts, conn.describe());
  const int major = pg::major_of(facts.version_num);
  const bool standby = facts.in_recovery;
  if (real_path(facts.data_directory) != real_path(cluster.pgdata))
    throw Error(ErrorKind::config, "[cluster] pgdata is " + cluster.pgdata + " but the server at " + conn.describe() +
                                       " runs on " + facts.data_directory);

  BackupResult result;
  const std::string snapshot_id = repo::new_snapshot_id();
  std::optional<SystemTime> last_full_read;
  // Locks in the configured order, so two backups never each hold what the other waits for.
  std::vector<repo::RepoLock> locks;
  std::vector<std::unique_ptr<Target>> targets;
  for (auto* r : repos) {
    locks.push_back(repo::RepoLock::acquire(r->store(), r->name(), "backup", {options.expire_wait, {"expire"}}));
    auto t = std::make_unique<Target>();
    t->repo = r;
    std::vector<std::string> damaged;
    auto snapshots = repo::list_snapshots(r->store(), r->key(), &damaged);
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
      if (it->system_identifier == facts.system_identifier && it->block_bytes == r->settings().block_bytes) {
        t->previous = std::make_unique<repo::ManifestIndex>(r->store(), it->id, r->key(), r->describe());
        t->previous_id = it->id;
        t->previous_info = *it;
        require_readable_packs(*r, *t->previous, it->id);
        break;
      }
    }
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
      if (it->system_identifier != facts.system_identifier || it->change_source != kFullRead) continue;
      if (auto t0 = parse_iso8601(it->start_time); t0 && (!last_full_read || *t0 > *last_full_read)) last_full_read = t0;
      break;
    }
    t->orphans = load_orphans(*r, snapshots);
    for (const auto& d : damaged) result.warnings.push_back(d + " (blocks are compared with an older snapshot)");
    targets.push_back(std::move(t));
  }

  repo::SnapshotInfo info;
  info.id = snapshot_id;
  info.cluster_name = cluster.name;
  info.system_identifier = facts.system_identifier;
  info.pg_version_num = facts.version_num;
  info.block_bytes = repos.front()->settings().block_bytes;
  info.compression = options.compress;
  info.data_checksums = facts.data_checksums;
  info.wal_segment_bytes = facts.wal_segment_bytes;
  info.pgdr_version = PGDR_VERSION;
  info.taken_on = standby ? repo::kTakenOnStandby : repo::kTakenOnPrimary;

  // A temporary slot keeps the server from recycling WAL the snapshot must copy at the end.
  std::string slot = "pgdr_backup_" + std::to_string(getpid());
  try {
    conn.query("SELECT pg_create_physical_replication_slot($1, true, true)", {slot});
  } catch (const Error& e) {
    result.warnings.push_back(std::string("no temporary replication slot (") + e.what() +
                              "): WAL needed by the snapshot could be recycled before it is copied");
  }
  std::string start_lsn_text;
  try {
    start_lsn_text = conn.query(pg::backup_functions(major).start_sql,
                                {"pgdr " + info.id, options.fast_checkpoint ? "true" : "false"})
                         .scalar();
  } catch (const Error& e) {
    throw Error(e.kind(), "unable to start the backup on " + conn.describe() + ": " + e.what(), e.hint());
  }
  info.start_time = iso8601_ms(wall_now());
  auto start_lsn = pg::parse_lsn(start_lsn_text);
  if (!start_lsn) throw Error(ErrorKind::postgres, "the backup start returned an unreadable LSN: " + start_lsn_text);
  info.start_lsn = start_lsn_text;
  const WalPlace start_place = wal_place_at_start(conn, start_lsn_text, standby, facts.wal_segment_bytes);
  info.first_wal_segment = start_place.file;
  info.timeline = start_place.timeline;

  ChangeQuery query;
  query.force_full_read = options.full_read;
  query.full_read_every = options.full_read_every;
  query.now = wall_now();
  query.last_full_read = last_full_read;
  for (auto& t : targets) {
    query.previous.push_back(t->previous_info);
    query.repos.push_back(t->repo);
  }
  query.system_identifier = std::stoull(facts.system_identifier);
  query.data_checksums = facts.data_checksums;
  query.segment_bytes = facts.wal_segment_bytes;
  query.major = major;
  query.start_lsn = *start_lsn;
  query.timeline = info.timeline;
  query.pgdata = cluster.pgdata;
  query.summaries_wait = options.summaries_wait;
  Changes changes = find_changes(conn, query);
  info.change_source = changes.source;
  info.change_reason = changes.reason;

  SourceTree tree = scan_source(cluster.pgdata, pg::tablespace_version_prefix(major));
  for (auto& w : tree.warnings) result.warnings.push_back(std::move(w));
  for (const auto& [oid, location] : tree.tablespaces) info.tablespaces.push_back({oid, location});

  for (auto& t : targets) {
    try {
      t->manifest = std::make_unique<repo::ManifestWriter>(t->repo->store(), info.id, t->repo->key(), info.block_bytes);
    } catch (const Error& e) {
      throw in_repository(e, *t, info.id);
    }
  }
  Progress progress("backup", tree.total_bytes);
  BackupRun run(targets, info.id, options, *start_lsn, facts.data_checksums, progress);
  run.read_by(changes.map ? &*changes.map : nullptr);
  run.run_files(files_of_pass(tree, standby, false));
  if (standby) run.run_files(files_of_pass(tree, standby, true));
  // The WAL the snapshot carries is read whole, like every file no map covers.
  run.read_by(nullptr);

  pg::QueryResult stop;
  try {
    stop = conn.query(pg::backup_functions(major).stop_sql);
  } catch (const Error& e) {
    throw Error(e.kind(), "unable to stop the backup on " + conn.describe() + ": " + e.what(), e.hint());
  }
  info.stop_time = iso8601_ms(wall_now());
  info.stop_lsn = *stop.rows.at(0).at(0);
  std::string label = *stop.rows.at(0).at(1);
  info.last_wal_segment =
      wal_place_at_stop(conn, info.stop_lsn, label, standby, info.timeline, facts.wal_segment_bytes).file;
  if (standby) info.replay_lsn = info.stop_lsn;

  // The WAL from start to stop makes the snapshot consistent on its own.
  auto first = pg::parse_segment_file_name(info.first_wal_segment, facts.wal_segment_bytes);
  auto last = pg::parse_segment_file_name(info.last_wal_segment, facts.wal_segment_bytes);
  if (!first || !last) throw Error(ErrorKind::postgres, "unreadable WAL file names from the server");
  // The label goes with the WAL, in the same pass, so it shares their packs.
  std::vector<SourceFile> wal;
  SourceFile label_file;
  label_file.entry.path = "backup_label";
  label_file.entry.mode = 0600;
  label_file.entry.mtime = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  label_file.entry.size_bytes = label.size();
  label_file.content = label;
  wal.push_back(std::move(label_file));
  for (std::uint64_t seg = first->segno; seg <= last->segno; ++seg) {
    std::string name = pg::segment_file_name(info.timeline, seg, facts.wal_segment_bytes);
    SourceFile f;
    f.entry.path = "pg_wal/" + name;
    f.entry.mode = 0600;
    f.entry.size_bytes = facts.wal_segment_bytes;
    f.source_path = cluster.pgdata + "/pg_wal/" + name;
    f.required = true;
    wal.push_back(std::move(f));
  }
  std::vector<const SourceFile*> wal_ptrs;
  for (const auto& f : wal) wal_ptrs.push_back(&f);
  progress.set_total(tree.total_bytes + (wal.size() - 1) * facts.wal_segment_bytes);
  run.run_files(wal_ptrs);
  progress.finish();
  try {
    conn.query("SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1", {slot});
  } catch (const Error&) {
    // A temporary slot goes with the session anyway.
  }

  info.file_count = run.files();
  info.logical_bytes = run.logical_bytes();
  info.zero_blocks = run.zero_blocks();
  info.checksum_failures = run.checksum_failures();
  info.read_bytes = run.read_bytes();
  for (auto& w : run.warnings()) result.warnings.push_back(std::move(w));
  // Every manifest first: until each repository holds all of its snapshot, none shows it.
  for (auto& t : targets) {
    repo::SnapshotInfo ri = info;
    try {
      ri.manifest_bytes = t->manifest->commit();
    } catch (const Error& e) {
      throw in_repository(e, *t, info.id);
    }
    ri.previous_snapshot = t->previous_id;
    ri.block_bytes = t->repo->settings().block_bytes;
    ri.new_blocks = t->new_blocks;
    ri.reused_blocks = t->reused_blocks + t->kept_blocks;
    ri.unread_blocks = t->kept_blocks;
    ri.packs = t->packs;
    ri.stored_bytes = t->pack_bytes + ri.manifest_bytes;
    if (t->frames_harder > 0)
      log_debug(t->repo->describe() + ": " + std::to_string(t->frames_harder) + " of " + std::to_string(t->frames) +
                " frames compressed at level " + std::to_string(repo::kHarderLevel) + " (the frame before compressed less than " +
                std::to_string(options.compress_harder_below) + ":1)");
    result.per_repo.push_back(std::move(ri));
  }
  // Last: the info object makes the snapshot exist, one repository after the other.
  std::vector<std::string> committed;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto& ri = result.per_repo[i];
    ri.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    try {
      repo::write_snapshot_info(targets[i]->repo->store(), targets[i]->repo->key(), ri);
    } catch (const Error& e) {
      Error named = in_repository(e, *targets[i], info.id);
      std::string where;
      for (const auto& c : committed) where += (where.empty() ? "'" : ", '") + c + "'";
      throw Error(named.kind(),
                  std::string(named.what()) + (committed.empty() ? "" : "; the snapshot is complete in repository " +
                                                                            where + " only"),
                  named.hint());
    }
    committed.push_back(targets[i]->repo->name());
  }
  for (auto& l : locks) l.release();
  result.info = result.per_repo.front();
  return result;
}

}  // namespace pgdr::backup
