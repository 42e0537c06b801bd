// Where a snapshot's WAL begins and ends, as WAL file names and a timeline. On a primary the
// server names them (pg_walfile_name); a standby refuses that function in recovery, so there they
// come from its control data and the LSNs the backup functions returned. On a standby the stop LSN
// is the replay position pg_backup_stop reported (its minimum recovery point), whose WAL the
// standby has already received into its own pg_wal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pg/connection.h"
#include "pg/lsn.h"

namespace pgdr::backup {

struct WalPlace {
  std::string file;           // the WAL file holding the record that ends at the LSN
  std::uint32_t timeline = 0;
};

// The WAL file name of lsn as pg_walfile_name gives it: an LSN at a segment's first byte names the
// segment before, which holds the record ending there.
std::string wal_file_of(pg::Lsn lsn, std::uint32_t timeline, std::uint64_t segment_bytes);

// The start of a backup begun at start_lsn. On a standby the timeline is that of the restartpoint
// pg_backup_start used (pg_control_checkpoint()).
WalPlace wal_place_at_start(pg::Connection& conn, const std::string& start_lsn, bool standby,
                            std::uint64_t segment_bytes);

// The stop of a backup begun on start_timeline. On a standby, throws Error(postgres) when its
// backup label or its minimum recovery point name another timeline (it followed a promotion during
// the backup): the WAL the snapshot copies would span two timelines.
WalPlace wal_place_at_stop(pg::Connection& conn, const std::string& stop_lsn, const std::string& label, bool standby,
                           std::uint32_t start_timeline, std::uint64_t segment_bytes);

// The "START TIMELINE: N" line of a backup label; nullopt when it has none.
std::optional<std::uint32_t> label_start_timeline(const std::string& label);

}  // namespace pgdr::backup
