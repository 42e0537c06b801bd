// How a snapshot learns what changed since the previous one, and when it must read everything
// instead. In order of preference: the server's own WAL summaries (PostgreSQL 17+ with
// summarize_wal), then the block summaries pgdr keeps beside archived WAL, else a full read —
// with a one-line reason, since a full read is always correct and only costs time.
//
// A map is asked for the WAL from the oldest previous snapshot's start (over every target
// repository; each takes unchanged blocks from its own previous snapshot, and a block unchanged
// since the oldest start is unchanged since each later one) to the new snapshot's start, along the
// new timeline's history. Changes after the new start are in the WAL the snapshot carries, which
// replay applies over whatever was read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "pg/change_map.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"

namespace pgdr::backup {

inline constexpr const char* kFullRead = "full-read";
inline constexpr const char* kWalSummaries = "wal-summaries";
inline constexpr const char* kWalArchive = "wal-archive";

struct ChangeQuery {
  bool force_full_read = false;
  std::chrono::milliseconds full_read_every{0};  // 0: never forced by age
  SystemTime now;
  // The newest snapshot of the cluster that read every byte, over the target repositories.
  std::optional<SystemTime> last_full_read;
  // The previous snapshot of each target repository, in target order; nullopt where none.
  std::vector<std::optional<repo::SnapshotInfo>> previous;
  std::vector<repo::Repository*> repos;  // the targets, same order
  std::uint64_t system_identifier = 0;
  bool data_checksums = false;  // the cluster's now
  std::uint64_t segment_bytes = 0;
  int major = 0;
  pg::Lsn start_lsn;
  std::uint32_t timeline = 0;
  std::string pgdata;
  std::chrono::milliseconds summaries_wait{0};
};

struct Changes {
  std::string source = kFullRead;
  std::string reason;  // why everything is read; "" with a map
  std::optional<pg::ChangeMap> map;
};

// Never throws for a missing or unusable source (that is a full read with its reason); throws
// only when interrupted.
Changes find_changes(pg::Connection& conn, const ChangeQuery& q);

// The decision that needs no WAL: a full read forced by the option, by age, or by a target
// without a previous snapshot; nullopt when a map may be looked for.
std::optional<std::string> full_read_reason(const ChangeQuery& q);

}  // namespace pgdr::backup
