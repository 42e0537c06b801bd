// Expiring a repository: decides with the retention policy which snapshots stay, then removes the
// others and every object no kept snapshot needs: their info objects and manifests, manifests left
// without an info object, packs no kept manifest refers to (orphan packs of killed backups too),
// and archived WAL before the oldest kept snapshot. Runs under the writer lock, so no backup
// writes meanwhile, and removes in an order that leaves a valid repository at every step
// (docs/REPOSITORY_FORMAT.md, "Removal"): an interrupted expire is finished by the next one.
// Readers (restore, info, archive-get) take no lock: one reading a snapshot being removed fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "repo/repository.h"
#include "repo/retention.h"
#include "repo/snapshot_info.h"

namespace pgdr::repo {

struct ExpireOptions {
  RetentionPolicy policy;
  SystemTime now;
  bool dry_run = false;                  // decide and report, remove nothing
  std::chrono::milliseconds lock_wait{0};  // how long to wait for a running backup
};

struct SnapshotDecision {
  SnapshotInfo info;
  bool keep = false;
  std::vector<std::string> reasons;  // why it is kept; empty when removed
};

struct RemovedObject {
  std::string name;  // object name in the repository
  std::uint64_t size_bytes = 0;
};

struct ExpireResult {
  bool dry_run = false;
  std::vector<SnapshotDecision> snapshots;  // oldest first
  // Objects removed (or, with dry_run, that would be), in the order of removal.
  std::vector<RemovedObject> snapshot_objects;  // info objects, then manifests (also leftover ones)
  std::vector<RemovedObject> packs;
  std::vector<RemovedObject> wal;
  std::size_t packs_kept = 0;
  std::string oldest_wal_needed;  // the first segment kept snapshots need; "" when WAL was left alone
  std::string wal_note;           // why no WAL was considered, if so
  std::uint64_t bytes_freed = 0;
};

// Throws Error(locked) when the lock is not free within lock_wait, Error(corrupt) when a snapshot
// info or a kept snapshot's manifest cannot be read (its packs are unknown, so nothing is removed).
ExpireResult run_expire(const Repository& repo, const ExpireOptions& options);

}  // namespace pgdr::repo
