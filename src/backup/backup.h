// pgdr backup: a consistent online snapshot of a running cluster. Between pg_backup_start and
// pg_backup_stop (over libpq, with a temporary replication slot pinning the WAL it will need),
// worker threads read the data directory file by file, check page checksums, cut files into
// blocks, store the blocks the repository lacks, and record every file in the manifest. The WAL
// from the start to the stop LSN is copied into the snapshot, so it restores to a consistent
// cluster without any WAL archive. The snapshot becomes visible only when its info object is
// written, after every pack and the manifest are durable.
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"

namespace pgdr::backup {

struct BackupOptions {
  int process_max = 2;
  std::string compress = "zstd";
  int compress_level = 1;
  int checksum_page_warn_max = 20;
  bool fast_checkpoint = true;
};

struct BackupResult {
  repo::SnapshotInfo info;
  std::vector<std::string> warnings;
};

BackupResult run_backup(const ClusterConfig& cluster, repo::Repository& repo, const BackupOptions& options);

}  // namespace pgdr::backup
