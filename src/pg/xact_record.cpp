#include "pg/xact_record.h"

#include <chrono>

#include "core/error.h"
#include "core/little_endian.h"

namespace pgdr::pg {

namespace {

// XLOG_XACT_* opcodes and their mask (src/include/access/xact.h).
constexpr std::uint8_t kXactOpmask = 0x70;
constexpr std::uint8_t kXactCommit = 0x00;
constexpr std::uint8_t kXactAbort = 0x20;
constexpr std::uint8_t kXactCommitPrepared = 0x30;
constexpr std::uint8_t kXactAbortPrepared = 0x40;

// 2000-01-01 00:00:00 UTC in Unix seconds: PostgreSQL's timestamp epoch.
constexpr std::int64_t kPgEpochUnixSeconds = 946684800;

}  // namespace

SystemTime timestamp_tz_to_system(std::int64_t timestamp_us) {
  using namespace std::chrono;
  return SystemTime(duration_cast<SystemTime::duration>(seconds(kPgEpochUnixSeconds) + microseconds(timestamp_us)));
}

std::optional<XactEnd> xact_end(const WalRecord& record) {
  if (record.rmid != kRmgrTransaction) return std::nullopt;
  XactEnd out;
  switch (record.info & kXactOpmask) {
    case kXactCommit: out.kind = XactEndKind::commit; break;
    case kXactCommitPrepared: out.kind = XactEndKind::commit_prepared; break;
    case kXactAbort: out.kind = XactEndKind::abort; break;
    case kXactAbortPrepared: out.kind = XactEndKind::abort_prepared; break;
    default: return std::nullopt;
  }
  if (record.main_data.size() < 8)
    throw Error(ErrorKind::corrupt, "invalid transaction record at " + to_string(record.lsn) + " (main data of " +
                                        std::to_string(record.main_data.size()) + " bytes holds no xact_time)");
  out.timestamp_us = static_cast<std::int64_t>(get_u64le(record.main_data.data()));
  out.xid = record.xid;
  // A server writes its clock's time here. One that the wall clock cannot hold (nanoseconds since
  // 1970: about 1677 to 2262) is damage, and converting it would overflow.
  using namespace std::chrono;
  constexpr std::int64_t kEpochUs = kPgEpochUnixSeconds * 1'000'000;
  constexpr std::int64_t kMinUs = duration_cast<microseconds>(SystemTime::duration::min()).count() - kEpochUs + 1;
  constexpr std::int64_t kMaxUs = duration_cast<microseconds>(SystemTime::duration::max()).count() - kEpochUs - 1;
  if (out.timestamp_us < kMinUs || out.timestamp_us > kMaxUs)
    throw Error(ErrorKind::corrupt, "invalid transaction record at " + to_string(record.lsn) + " (xact_time " +
                                        std::to_string(out.timestamp_us) + " is not a time)");
  out.time = timestamp_tz_to_system(out.timestamp_us);
  return out;
}

}  // namespace pgdr::pg
