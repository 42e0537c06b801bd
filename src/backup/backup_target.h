// What one repository receives during a backup: its manifest being written, the previous snapshot
// it deduplicates against, the blocks a killed backup left in it, its own pack numbering and its
// counters. Shared by every worker thread of the backup.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"

namespace pgdr::backup {

struct BlockIdHash {
  std::size_t operator()(const repo::BlockId& id) const noexcept {
    std::size_t h;
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};

// Blocks stored by a backup that died before its snapshot became visible: reused, not stored again.
struct OrphanBlocks {
  std::vector<std::string> pack_ids;
  std::unordered_map<repo::BlockId, std::pair<std::uint32_t, repo::PackEntry>, BlockIdHash> blocks;
};

// The blocks of the packs in repo that none of snapshots claims. A pack whose trailer does not
// open is left out: a damaged leftover is not worth reusing, and expire removes it.
OrphanBlocks load_orphans(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snapshots);

struct Target {
  repo::Repository* repo = nullptr;
  std::unique_ptr<repo::ManifestWriter> manifest;
  std::unique_ptr<repo::ManifestIndex> previous;
  std::string previous_id;
  std::optional<repo::SnapshotInfo> previous_info;
  OrphanBlocks orphans;

  std::mutex mu;  // pack_numbers, packs
  std::unordered_map<std::string, std::uint32_t> pack_numbers;
  std::vector<std::string> packs;
  std::atomic<std::uint64_t> new_blocks{0}, reused_blocks{0}, kept_blocks{0}, pack_bytes{0};
  std::atomic<std::uint64_t> frames{0}, frames_harder{0};  // sealed, and of them compressed harder

  // The manifest number of pack_id, declaring it on first use. Orphan packs adopted this way join
  // the snapshot's own pack list, so they are no longer orphans.
  std::uint32_t adopt(const std::string& pack_id, bool claim_it = true);
  // Adds a pack this backup wrote and committed to the snapshot's own pack list.
  void claim(const std::string& pack_id);
  // A pack of the previous snapshot whose trailer cannot be read (missing, damaged): the files
  // with blocks in it are stored again rather than built on it. Warns once per pack.
  void previous_unreadable(const Error& e);

 private:
  std::set<std::string> warned_;  // under mu
};

// The smallest size the targets' previous snapshots recorded for the regular file at path;
// nullopt when one of them has no such file (or no previous snapshot).
std::optional<std::uint64_t> smallest_previous_size(const std::vector<std::unique_ptr<Target>>& targets,
                                                    const std::string& path);

// An error while writing to one repository, reworded to name it (the storage's own message names
// only the object).
Error in_repository(const Error& e, const Target& t, const std::string& snapshot_id);

}  // namespace pgdr::backup
