// The change map of a stretch of WAL built from what pgdr already holds: the block summaries
// stored beside archived segments (repo/wal_summary.h), rebuilt from the archived segment when one
// is missing or damaged, and the segments not archived yet read from the data directory's pg_wal.
// A snapshot on PostgreSQL 14-16 (and 17+ without summarize_wal) reads by it only the relation
// blocks changed since the previous snapshot's start.
//
// A map is given only when it provably covers every record of the stretch: each segment's first
// record must name the previous segment's last one (xl_prev), across timeline switches too. A link
// that does not hold is repaired by summarising the segment again with the one before it (a
// summary written without its head); when that fails, or a segment is missing everywhere, is
// another system's WAL or does not decode, there is no map and reason names the segment. The
// caller then reads every block: a missing map costs time, a wrong one would lose data.
//
// Memory: one merged map (pg/change_map.h bounds it) and at most two segments at a time.
// Reads only; writes nothing to the repository. One thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/change_map.h"
#include "pg/lsn.h"
#include "pg/timeline_path.h"
#include "repo/repository.h"

namespace pgdr::backup {

struct ArchiveChangesRequest {
  const repo::Repository* repo = nullptr;
  std::uint64_t system_identifier = 0;
  std::uint64_t segment_bytes = 0;
  // From the previous snapshot's start LSN to the new snapshot's start LSN, oldest timeline first;
  // each entry's end is the next one's begin.
  std::vector<pg::TimelineRange> path;  // from pg::find_timeline_path
  // Its pg_wal holds the segments not archived yet. Empty: the repository alone (verify's check of
  // maps has no data directory); a segment not archived is then missing.
  std::string data_directory;
};

struct ArchiveChanges {
  std::optional<pg::ChangeMap> map;
  std::string reason;  // one line, when there is no map
  std::size_t from_summaries = 0;  // segments whose stored summary was used
  std::size_t rebuilt = 0;         // segments summarised again from the archived segment
  std::size_t from_pg_wal = 0;     // segments read from the local pg_wal
  std::uint64_t bytes_read = 0;    // summaries and segments read (plaintext)
};

// Builds the map of request.path. Damage, absence and another system's WAL are answers (no map,
// a reason); failures to reach the repository or the data directory (io, network, interrupted)
// are thrown.
ArchiveChanges archive_changes(const ArchiveChangesRequest& request);

}  // namespace pgdr::backup
