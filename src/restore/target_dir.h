// The target directory of a restore, and what a restore does to it besides writing the files'
// content: where each manifest path goes (tablespaces mapped elsewhere or not); the refusals made
// before anything is written (a link that is no tablespace's, a location that is no plain
// absolute path, a running server, a non-empty directory, --delta into a directory that is not the
// snapshot's cluster's); the restore lock; the directories and tablespace links; in delta mode the
// removal of what the snapshot does not hold; and the directory fsyncs. restore.cpp calls the
// steps in order: plan, prepare, make_directories, make_tablespace_links, remove_extras (delta),
// then, after the files, sync_directories, and finish once global/pg_control is durable.
//
// One thread calls the steps; destination() may be called from any thread once plan() returned.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "repo/manifest.h"
#include "repo/snapshot_info.h"
#include "restore/restore.h"
#include "restore/target_lock.h"

namespace pgdr::restore {

// Written last: PostgreSQL will not start a data directory without it, so an interrupted restore
// can never be mistaken for a complete one.
inline constexpr std::string_view kControlFile = "global/pg_control";

class TargetDir {
 public:
  // The restore's options, the snapshot restored and its manifest's entries; all must outlive
  // this. The target is made absolute here (relative to the working directory).
  TargetDir(const RestoreOptions& options, const repo::SnapshotInfo& info,
            const std::vector<repo::ManifestIndex::Entry>& entries);

  // The target, absolute, without a trailing slash.
  const std::string& path() const { return path_; }

  // Decides where every entry goes, before anything is written: each symbolic link must be a
  // tablespace's (pg_tblspc/<oid>), its location (mapped by oid, then by old location) a plain
  // absolute path; no directory to write may belong to a running cluster (restore/target_guard.h);
  // an existing location must be an empty directory, or with --delta the one the target's own link
  // names. Throws Error(corrupt) or Error(io) naming what it refuses.
  void plan();
  // Creates the target (mode 0700) or checks it is a directory, locks it (restore/target_lock.h),
  // refuses a non-empty one without --delta and with --delta one that is not the snapshot's
  // cluster's, records the restore in the lock, and with --delta removes global/pg_control at once,
  // so that the directory does not look startable until the restore completes.
  void prepare();
  // Creates the directories outside tablespaces, sorted by path (mode masked with 0750); with
  // --delta a file in the way is removed, else refused.
  void make_directories();
  // For each tablespace: its location if missing, the link pg_tblspc/<oid>, and its directories,
  // parents first.
  void make_tablespace_links();
  // Delta mode: removes whatever the snapshot does not hold, under the target and, in each
  // tablespace location, under this server version's directory. Returns how many it removed.
  std::uint64_t remove_extras();

  // Where the manifest's path is written. Throws Error(corrupt) for a path under a tablespace the
  // snapshot does not hold.
  std::string destination(const std::string& path) const;
  // Makes every directory this restore created, changed or wrote a file into durable.
  void sync_directories();
  // The restore is complete (global/pg_control durable): removes the lock file and unlocks.
  void finish();

 private:
  void refuse_live_clusters();
  void mkdir_in_target(const std::string& dir, std::uint32_t mode);
  std::uint64_t prune(const std::string& dir, const std::set<std::string>& wanted);

  const RestoreOptions& options_;
  const repo::SnapshotInfo& info_;
  const std::vector<repo::ManifestIndex::Entry>& entries_;
  std::string path_;
  std::map<std::string, std::string> tablespaces_;  // oid -> location
  std::optional<TargetLock> lock_;                  // held from prepare() to finish()
  std::set<std::string> dirs_to_sync_;
};

}  // namespace pgdr::restore
