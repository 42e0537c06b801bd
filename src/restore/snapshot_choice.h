// Which snapshot a restore starts from, and which repositories hold it; and whether the WAL
// archive can carry recovery from it to the target. Reads snapshot infos and WAL listings only.
#pragma once

#include <vector>

#include "repo/repository.h"
#include "repo/snapshot_info.h"
#include "restore/restore.h"

namespace pgdr::restore {

struct ChosenSnapshot {
  repo::SnapshotInfo info;
  std::vector<const repo::Repository*> holders;  // the repositories holding it, in the order given
};

// options.snapshot by id, or for "latest" the newest snapshot in any repository that ends before
// the target. Throws Error(not_found) naming where it looked, Error(usage) for a snapshot that ends
// after the target.
ChosenSnapshot choose_snapshot(const std::vector<const repo::Repository*>& repos, const RestoreOptions& options);

// Recovery past the snapshot reads the archive segment by segment on the snapshot's timeline; a
// hole there would end it early. A segment counts when any repository has it, since archive-get
// reads each from the first repository that holds it. To latest a hole is refused (Error
// not_found) before anything is written; with an explicit target it is only reported.
void check_archive_continuity(const std::vector<const repo::Repository*>& repos, const repo::SnapshotInfo& info,
                              const RestoreOptions& options);

}  // namespace pgdr::restore
