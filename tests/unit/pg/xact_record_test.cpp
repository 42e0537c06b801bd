#include "pg/xact_record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "core/error.h"
#include "core/time_format.h"

namespace pgdr::pg {
namespace {

// A commit record whose main data starts with xact_time.
std::optional<XactEnd> commit_at(std::int64_t xact_time_us) {
  Bytes main(8);
  for (int i = 0; i < 8; ++i) main[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(xact_time_us) >> (8 * i));
  WalRecord r;
  r.lsn = Lsn{0x16000028};
  r.rmid = kRmgrTransaction;
  r.info = 0x00;  // XLOG_XACT_COMMIT
  r.main_data = main;
  return xact_end(r);
}

TEST(XactRecord, CommitTimeOnTheWallClock) {
  // 2024-01-01 00:00:00 UTC is 757382400 s after PostgreSQL's epoch.
  auto x = commit_at(757382400LL * 1'000'000 + 250'000);
  ASSERT_TRUE(x);
  EXPECT_TRUE(x->is_commit());
  EXPECT_EQ(iso8601_ms(x->time), "2024-01-01T00:00:00.250Z");
}

// Found by fuzzing (tests/fuzz/corpus/wal_reader_fuzz/regress-xact-time-overflow): a commit time
// beyond the wall clock's range overflowed its conversion to nanoseconds (undefined behaviour; a
// wrapped, wrong time in practice, which measure would take as the newest commit).
TEST(XactRecord, CommitTimeBeyondTheWallClockIsCorrupt) {
  for (std::int64_t t : {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(),
                         std::int64_t{10109396232727936}, std::int64_t{-10'200'000'000'000'000}}) {
    SCOPED_TRACE(t);
    try {
      commit_at(t);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt);
      EXPECT_EQ(std::string(e.what()),
                "invalid transaction record at 0/16000028 (xact_time " + std::to_string(t) + " is not a time)");
    }
  }
}

}  // namespace
}  // namespace pgdr::pg
