// pgdr restore: rebuilds a data directory from a snapshot. Directories first, then tablespace links
// (optionally mapped elsewhere), then files on process_max threads, largest first; every file is
// checked against its SHA-256 and fsync'd, then every directory. Paths from the manifest are never
// trusted: only relative paths without ".." are written, and symbolic links only where
// PostgreSQL keeps tablespaces (pg_tblspc/<oid>). In delta mode an existing directory is brought in
// line block by block: only blocks that differ are written, files the snapshot lacks are removed.
// Before anything is written, restore/target_guard.h keeps it off running clusters and off
// directories that are not the snapshot's cluster's; restore/target_lock.h keeps a second restore
// off the same target.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "repo/snapshot_info.h"
#include "restore/recovery_settings.h"

namespace pgdr::restore {

struct RestoreOptions {
  std::string target_dir;
  std::string snapshot = "latest";
  bool delta = false;
  int process_max = 2;
  std::map<std::string, std::string> tablespace_map;  // oid or old location -> new location
  RecoveryTarget target;
  bool recovery_settings = true;  // write restore_command, target and signal file
  // The configuration's [cluster] pgdata: checked for a running server like every directory the
  // restore would write (see restore/live_clusters.h); empty when there is none.
  std::string source_data_dir;
};

struct RestoreResult {
  repo::SnapshotInfo info;
  std::uint64_t files_written = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t files_unchanged = 0;  // delta mode
  std::uint64_t files_removed = 0;    // delta mode
  double seconds = 0;
};

// Restores from the first of repos (in the order given) that holds the chosen snapshot with a
// readable manifest. The snapshot is chosen across all of them ("latest": the newest any of them
// holds). A block that cannot be read intact there (missing or damaged pack, failed
// authentication, wrong digest) is read from the next repository holding the same snapshot, with
// a warning naming the repository and object; see docs/ARCHITECTURE.md. The archive continuity
// check counts a WAL segment present in any of repos.
RestoreResult run_restore(const std::vector<const repo::Repository*>& repos, const RestoreOptions& options);
RestoreResult run_restore(const repo::Repository& repo, const RestoreOptions& options);

}  // namespace pgdr::restore
