// Expiring a repository: decides with the retention policy which snapshots stay, then removes the
// others and every object no kept snapshot needs: their info objects and manifests, manifests left
// without an info object, packs no kept manifest refers to (orphan packs of killed backups too),
// and archived WAL before the oldest kept snapshot. Packs that kept snapshots need only in part
// are repacked (repack.h) when at least repack_threshold of their bytes is garbage; the old pack
// stays for repack_grace (retired_pack.h) so that readers which started before still find it.
// Runs under the writer lock, so no backup writes meanwhile, and works in an order that leaves a
// valid repository at every step (docs/REPOSITORY_FORMAT.md, "Removal" and "Repacking"): an
// interrupted expire is finished by the next one. Readers (restore, info, archive-get) take no
// lock: one reading a snapshot being removed fails.
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
  // A pack a kept snapshot needs is repacked when at least this share (0 to 1) of its bytes is
  // garbage; 0 never repacks.
  double repack_threshold = 0;
  // How long a repacked pack stays before an expire removes it.
  std::chrono::milliseconds repack_grace{0};
  // At most this many packs are repacked by one run, those with the largest share of garbage.
  std::size_t repack_max_packs = static_cast<std::size_t>(-1);
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

struct RepackedPack {
  std::string name;  // object name of the old pack
  std::uint64_t size_bytes = 0;
  std::uint64_t live_bytes = 0;  // of the frames kept snapshots need, which were copied
};

struct ExpireResult {
  bool dry_run = false;
  std::vector<SnapshotDecision> snapshots;  // oldest first
  // Objects removed (or, with dry_run, that would be), in the order of removal.
  std::vector<RemovedObject> snapshot_objects;  // info objects, then manifests (also leftover ones)
  std::vector<RemovedObject> packs;  // unreferenced packs, repacked ones whose grace has passed included
  std::vector<RemovedObject> wal;
  std::vector<RemovedObject> wal_summaries;  // summaries of removed segments (repo/wal_summary.h)
  std::vector<RemovedObject> retired_markers;  // markers removed with their pack (or left over)
  std::size_t packs_kept = 0;
  // Repacking (with dry_run: what would be repacked, nothing written).
  std::vector<RepackedPack> repacked;
  std::vector<RemovedObject> repack_written;     // the new packs
  std::vector<std::string> manifests_rewritten;  // snapshot ids
  std::vector<std::string> infos_rewritten;      // snapshot ids whose pack list changed
  std::size_t repack_deferred = 0;               // candidates left for later runs (repack_max_packs)
  std::size_t retired_waiting = 0;               // repacked packs kept for their grace period
  std::uint64_t retired_waiting_bytes = 0;
  std::vector<std::string> warnings;             // packs left whole, damaged markers: one line each
  std::string oldest_wal_needed;  // the first segment kept snapshots need; "" when WAL was left alone
  std::string wal_note;           // why no WAL was considered, if so
  std::uint64_t bytes_removed = 0;   // sum of the sizes of the objects removed
  std::uint64_t bytes_written = 0;   // new packs, markers, and rewritten manifests and infos
  std::uint64_t bytes_replaced = 0;  // what those rewritten manifests and infos were before
  // removed + replaced - written: what the repository shrank by (negative while repacked packs
  // wait out their grace). A dry run counts removals only.
  std::int64_t bytes_freed = 0;
};

// Throws Error(locked) when the lock is not free within lock_wait, Error(corrupt) when a snapshot
// info or a kept snapshot's manifest cannot be read (its packs are unknown, so nothing is removed).
ExpireResult run_expire(const Repository& repo, const ExpireOptions& options);

}  // namespace pgdr::repo
