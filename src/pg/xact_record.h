// The end of a transaction as the transaction resource manager logs it: commit, commit of a
// prepared transaction, abort, abort of a prepared transaction (src/include/access/xact.h, the same
// in 14-18). Their main data starts with xact_time, the TimestampTz that pg_last_committed_xact()
// and recovery_target_time see. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "core/time_format.h"
#include "pg/wal_record.h"

namespace pgdr::pg {

enum class XactEndKind { commit, commit_prepared, abort, abort_prepared };

struct XactEnd {
  XactEndKind kind = XactEndKind::commit;
  std::int64_t timestamp_us = 0;  // TimestampTz: microseconds since 2000-01-01 00:00:00 UTC
  SystemTime time;                // the same instant on the wall clock
  std::uint32_t xid = 0;          // the record header's transaction id (0 for a prepared one's end)
  bool is_commit() const { return kind == XactEndKind::commit || kind == XactEndKind::commit_prepared; }
};

// The transaction end a record logs; nullopt for every other record (other rmgrs, prepare,
// assignment, invalidations). Throws Error(corrupt) when such a record's main data is too short
// to hold its xact_time.
std::optional<XactEnd> xact_end(const WalRecord& record);

// TimestampTz -> wall clock.
SystemTime timestamp_tz_to_system(std::int64_t timestamp_us);

}  // namespace pgdr::pg
