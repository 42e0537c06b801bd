// The reading part of a backup: worker threads read the files of the data directory (whole, by a
// change map, or in pieces), check page checksums, hash every block once and hand it to one
// BlockSink per repository. Counts what it read for the snapshot's info.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backup/backup.h"
#include "backup/backup_target.h"
#include "backup/source_files.h"
#include "backup/work_items.h"
#include "core/progress.h"
#include "io/compress.h"
#include "pg/change_map.h"
#include "pg/lsn.h"

namespace pgdr::backup {

class BackupRun {
 public:
  // checksums: the cluster has data checksums, so relation pages are checked as they are read.
  BackupRun(std::vector<std::unique_ptr<Target>>& targets, const std::string& snapshot_id, const BackupOptions& opt,
            pg::Lsn start_lsn, bool checksums, Progress& progress);

  // Backs files up on process_max threads, shared out by share_out (work_items.h): largest
  // first, a big file read whole (no change map) in pieces. A worker commits its packs even after
  // another one failed; the first error is rethrown once all are back.
  void run_files(const std::vector<const SourceFile*>& files);

  // Relation files are read by this map from now on (nullptr: everything is read whole).
  void read_by(const pg::ChangeMap* map) { map_ = map; }

  std::uint64_t files() const { return files_; }
  std::uint64_t read_bytes() const { return read_bytes_; }
  std::uint64_t zero_blocks() const { return zero_blocks_; }
  std::uint64_t logical_bytes() const { return logical_bytes_; }
  std::uint64_t checksum_failures() const { return checksum_failures_; }
  std::vector<std::string> warnings() const;

 private:
  class Worker;

  // How much f is to read, and whether it may be read in pieces: a file read whole from disk,
  // which by a change map is one the map cannot vouch for or with most of its blocks changed.
  FileToShare share_of(const SourceFile& f) const;
  void checksum_failure(const std::string& path, std::uint32_t blkno);

  std::vector<std::unique_ptr<Target>>& targets_;
  const std::string& snapshot_id_;
  const BackupOptions& opt_;
  pg::Lsn start_lsn_;
  bool checksums_;
  Progress& progress_;
  io::Codec codec_;
  std::uint32_t block_bytes_;

  mutable std::mutex mu_;
  std::vector<std::string> warnings_;
  std::atomic<std::uint64_t> files_{0};
  std::atomic<std::uint64_t> zero_blocks_{0}, logical_bytes_{0}, checksum_failures_{0}, read_bytes_{0};
  const pg::ChangeMap* map_ = nullptr;
};

}  // namespace pgdr::backup
