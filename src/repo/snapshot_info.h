// The summary of one snapshot, stored sealed as snapshots/<id>.info and written last: a snapshot
// exists for readers exactly when its info object does. Small, so listing snapshots reads no
// manifest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repo/keys.h"
#include "storage/storage.h"

namespace pgdr::repo {

struct TablespaceInfo {
  std::string oid;
  std::string location;  // on the source host
};

struct SnapshotInfo {
  std::string id;
  std::string cluster_name;
  std::string system_identifier;
  int pg_version_num = 0;
  std::uint32_t timeline = 0;
  std::string start_lsn;
  std::string stop_lsn;
  std::string start_time;  // ISO-8601 UTC, when pg_backup_start returned
  std::string stop_time;   // ISO-8601 UTC, when pg_backup_stop returned
  std::uint64_t wal_segment_bytes = 0;
  std::string first_wal_segment;
  std::string last_wal_segment;
  std::string previous_snapshot;  // blocks were compared with this one's, "" for the first
  std::uint32_t block_bytes = 0;
  std::string compression;
  std::uint64_t file_count = 0;          // regular files (directories and links not counted)
  std::uint64_t logical_bytes = 0;       // sum of file sizes
  std::uint64_t new_blocks = 0;          // blocks stored by this snapshot
  std::uint64_t reused_blocks = 0;       // blocks found already stored
  std::uint64_t zero_blocks = 0;
  std::uint64_t stored_bytes = 0;        // bytes this snapshot added: new packs + manifest
  std::uint64_t manifest_bytes = 0;
  std::vector<std::string> packs;        // packs this snapshot wrote or adopted
  std::vector<TablespaceInfo> tablespaces;
  // How the snapshot found what changed since the previous one: "full-read" (every byte read),
  // "wal-summaries" (the server's WAL summaries) or "wal-archive" (block summaries of archived
  // WAL); snapshots written before this field read everything and say "full-read".
  std::string change_source = "full-read";
  std::string change_reason;             // why a snapshot read everything; "" otherwise
  std::uint64_t read_bytes = 0;          // bytes read from the data directory (and its WAL)
  std::uint64_t unread_blocks = 0;       // blocks taken from the previous snapshot without reading
  std::uint64_t checksum_failures = 0;   // pages whose checksum failed while reading
  bool data_checksums = false;
  double duration_seconds = 0;
  std::string pgdr_version;
  // Where the backup functions ran: "primary", or "standby" for a streaming standby in recovery.
  // A standby replays its primary's WAL, so system_identifier is the primary's too. Snapshots
  // written before this field were taken on a primary.
  std::string taken_on = "primary";
  // On a standby, the replay position pg_backup_stop reported (the snapshot's stop LSN: restore
  // reaches the primary's state as of that record); "" on a primary.
  std::string replay_lsn;
};

inline constexpr const char* kTakenOnPrimary = "primary";
inline constexpr const char* kTakenOnStandby = "standby";

// A new snapshot id: "20261125T233015.042Z-3fa2", sortable by time.
std::string new_snapshot_id();

void write_snapshot_info(storage::Storage& store, const MasterKey& key, const SnapshotInfo& info);
// Every complete snapshot, oldest first. An info object that cannot be read throws Error(corrupt),
// unless damaged is given: then that snapshot is left out and its error appended there, so one
// damaged object does not hide every other snapshot.
std::vector<SnapshotInfo> list_snapshots(const storage::Storage& store, const MasterKey& key,
                                         std::vector<std::string>* damaged = nullptr);
// The newest snapshot of cluster_name (of any cluster when empty) whose info object reads, reading
// infos newest first and only as far as needed; nullopt when there is none.
std::optional<SnapshotInfo> newest_snapshot_of(const storage::Storage& store, const MasterKey& key,
                                               const std::string& cluster_name);
// The snapshot named id ("latest" for the newest intact one, warning about damaged ones); throws
// Error(not_found) naming what was asked.
SnapshotInfo find_snapshot(const storage::Storage& store, const MasterKey& key, const std::string& id);

}  // namespace pgdr::repo
