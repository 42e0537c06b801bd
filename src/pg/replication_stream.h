// A physical replication connection (libpq with replication=true): the walsender commands pgdr's
// WAL receiver needs (IDENTIFY_SYSTEM, TIMELINE_HISTORY, READ_REPLICATION_SLOT,
// CREATE_REPLICATION_SLOT, START_REPLICATION) and the COPY BOTH stream that follows: XLogData and
// keepalive messages in, standby status updates out, and the end-of-timeline hand-over.
// See PostgreSQL's "Streaming Replication Protocol" chapter for the message layouts.
//
// Owns its PGconn; nothing outside pg/ sees it. Not thread-safe: one connection per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "pg/lsn.h"

namespace pgdr::pg {

struct SystemIdentity {
  std::string system_identifier;
  std::uint32_t timeline = 0;
  Lsn wal_flush;  // the server's current WAL flush position
};

struct SlotState {
  bool exists = false;
  std::string type;  // "physical" or "logical"
  std::optional<Lsn> restart_lsn;
  std::uint32_t restart_timeline = 0;
};

// One message of the stream.
struct StreamMessage {
  enum class Kind { none, wal_data, keepalive, end_of_copy } kind = Kind::none;
  Lsn data_start;  // wal_data: LSN of data[0]
  Lsn server_wal_end;
  bool reply_requested = false;  // keepalive
  Bytes data;                    // wal_data payload
};

struct NextTimeline {
  std::uint32_t timeline = 0;
  Lsn start;  // where the server switched to it
};

class ReplicationConnection {
 public:
  // Connects; application_name (when not empty) overrides any in conninfo. Throws Error(postgres)
  // "unable to open a replication connection to <redacted conninfo> (<why>)".
  ReplicationConnection(const std::string& conninfo, const std::string& application_name);
  ~ReplicationConnection();
  ReplicationConnection(const ReplicationConnection&) = delete;
  ReplicationConnection& operator=(const ReplicationConnection&) = delete;

  SystemIdentity identify_system();
  // The server's wal_segment_size in bytes.
  std::uint64_t wal_segment_bytes();
  // (file name, content) of the history file of timeline (> 1).
  std::pair<std::string, Bytes> timeline_history(std::uint32_t timeline);
  SlotState read_slot(const std::string& slot);
  // CREATE_REPLICATION_SLOT slot PHYSICAL RESERVE_WAL: the server keeps WAL from now on.
  void create_physical_slot(const std::string& slot);

  // START_REPLICATION SLOT slot PHYSICAL start TIMELINE timeline; the connection is then in COPY
  // BOTH mode until receive() returns end_of_copy.
  void start_replication(const std::string& slot, Lsn start, std::uint32_t timeline);
  // The next message, waiting up to timeout_ms (0: do not wait) for one; Kind::none when none came.
  // Throws Error(network) when the connection breaks.
  StreamMessage receive(int timeout_ms);
  // Standby status update ('r'): written, flushed (durable) and applied positions.
  void send_status(Lsn written, Lsn flushed, bool reply_requested = false);
  // After end_of_copy: answers the server's CopyDone and reads what follows. The next timeline when
  // the server's timeline ended (it was promoted), nullopt when it simply stopped streaming.
  std::optional<NextTimeline> finish_copy();

  const std::string& describe() const;

 private:
  struct Impl;
  // A 14 server has no READ_REPLICATION_SLOT: pg_replication_slots over an ordinary connection.
  SlotState read_slot_by_sql(const std::string& slot);

  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::pg
