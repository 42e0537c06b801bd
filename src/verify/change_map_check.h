// The change_maps check of `pgdr verify`: proof, from the repository alone, that a change map
// (pg/change_map.h) would not have missed a change. The newest snapshot S that read every byte
// (change source "full-read") and whose previous snapshot P is still in the repository is read
// against P through the map of the archive's block summaries from P's start to S's stop: every block
// of a main relation fork that backup::plan_read would have taken from P without reading it must
// have the same block id in S and in P. A block that differs is a change no WAL record named, which
// a snapshot by map would have lost.
//
// Why to S's stop and not its start: S read each page at some moment between its start and stop,
// so it holds changes made while it ran; a snapshot by map would leave those to WAL replay (the
// first change of a page after the start checkpoint carries a full-page image), so they are
// differences the map need not name. With data checksums every page write after a checkpoint is
// WAL-logged at least once (a hint-bit-only change logs a full-page image), so nothing else may
// differ; without them (and without wal_log_hints) hint bits differ legitimately, and the check
// says "not checked".
//
// Memory: the two manifests' entries (block lists stay spooled, repo/manifest.h), the map, and the
// block references of one slice of one file at a time. One thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pg/change_map.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"
#include "verify/report.h"

namespace pgdr::verify {

// A file of S with blocks that differ from P although the plan would have taken P's.
struct MapMiss {
  std::string path;                   // the manifest path, "base/5/16384"
  std::uint64_t blocks = 0;           // how many differ
  std::vector<std::uint64_t> first;   // the first of them (repository blocks within the file), up to 8
};

struct UnreadComparison {
  std::uint64_t files_by_map = 0;     // files the plan would read by the map (not whole)
  std::uint64_t files_whole = 0;      // regular files the plan would read whole
  std::uint64_t blocks_compared = 0;  // blocks the plan would take from P, compared
  std::uint64_t blocks_planned = 0;   // blocks of files read by the map that the plan would read
  std::uint64_t missed_blocks = 0;    // every differing block
  std::uint64_t missed_files = 0;     // every file with one
  std::vector<MapMiss> listed;        // the first max_listed of those files, in manifest order
};

// Walks snapshot's files one at a time: for each, plan_read with map and the sizes snapshot and
// previous recorded, then compares the block ids of every block the plan would not read. Both
// manifests must have the same block size (Error(internal) otherwise).
UnreadComparison compare_unread_blocks(const pg::ChangeMap& map, const repo::ManifestIndex& snapshot,
                                       const repo::ManifestIndex& previous, std::size_t max_listed);

// The check. snaps: the cluster's snapshots, oldest first (S is chosen among them); all: every
// snapshot of the repository (where P is looked up). Skips, with the reason in its summary, when
// there is no such pair, S has no data checksums, or no map can be built (a segment or history
// file not archived, a timeline the history does not explain).
CheckResult check_change_maps(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                              const std::vector<repo::SnapshotInfo>& all);

}  // namespace pgdr::verify
