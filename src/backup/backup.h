// pgdr backup: a consistent online snapshot of a running cluster. Between pg_backup_start and
// pg_backup_stop (over libpq, with a temporary replication slot pinning the WAL it will need),
// worker threads read the data directory file by file, check page checksums, cut files into
// blocks, store the blocks the repository lacks, and record every file in the manifest. The WAL
// from the start to the stop LSN is copied into the snapshot, so it restores to a consistent
// cluster without any WAL archive. The snapshot becomes visible only when its info object is
// written, after every pack and the manifest are durable.
#pragma once

#include <cstdint>
#include <chrono>
#include <string>
#include <vector>

#include "pg/cluster_config.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"

namespace pgdr::backup {

struct BackupOptions {
  int process_max = 2;
  std::string compress = "zstd";
  int compress_level = 2;
  int compress_harder_below = 5;  // ratio; 0 off (repo/block_codec.h, kHarderLevel)
  int checksum_page_warn_max = 20;
  bool fast_checkpoint = true;
  // How long to wait for a running `pgdr expire` to release the repository ([retention] lock_wait).
  // Another backup holding it is never waited for.
  std::chrono::milliseconds expire_wait{0};
  // Read every byte even when a change map could say what changed (`--full-read`).
  bool full_read = false;
  std::chrono::milliseconds full_read_every{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds summaries_wait{std::chrono::seconds(60)};
};

struct BackupResult {
  repo::SnapshotInfo info;                  // as written to the first repository
  std::vector<repo::SnapshotInfo> per_repo;  // one per repository, in the order given
  std::vector<std::string> warnings;
};

// One snapshot written to every repository in repos (at least one) in a single pass over the data
// directory: each file is read and checked once, and each block is then named, deduplicated,
// compressed, sealed and packed per repository (each has its own keys and its own previous
// snapshot). Every repository gets the same snapshot id. Any failure of any repository fails the
// whole backup, naming the repository; the snapshot is committed (its info object written) in no
// repository until every repository holds its packs and manifest, then in each in turn, so a
// failure in that last step leaves the snapshot only in the repositories already committed, which
// the error names. All repositories must use the same block size.
BackupResult run_backup(const ClusterConfig& cluster, const std::vector<repo::Repository*>& repos,
                        const BackupOptions& options);

}  // namespace pgdr::backup
