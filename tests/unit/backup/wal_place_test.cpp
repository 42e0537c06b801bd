#include "backup/wal_place.h"

#include <gtest/gtest.h>

namespace pgdr::backup {
namespace {

constexpr std::uint64_t kSegment = 16u << 20;

TEST(WalPlace, NamesTheFileAsPgWalfileNameDoes) {
  EXPECT_EQ(wal_file_of(*pg::parse_lsn("0/E056B70"), 1, kSegment), "00000001000000000000000E");
  // A record ending at a segment's first byte (after a segment switch) is in the segment before.
  EXPECT_EQ(wal_file_of(*pg::parse_lsn("0/10000000"), 1, kSegment), "00000001000000000000000F");
  EXPECT_EQ(wal_file_of(*pg::parse_lsn("0/10000001"), 2, kSegment), "000000020000000000000010");
  EXPECT_EQ(wal_file_of(*pg::parse_lsn("1/28"), 3, kSegment), "000000030000000100000000");
}

TEST(WalPlace, ReadsTheStartTimelineOfALabel) {
  const std::string standby_label =
      "START WAL LOCATION: 0/E056B70 (file 00000001000000000000000E)\n"
      "CHECKPOINT LOCATION: 0/E056BA8\n"
      "BACKUP METHOD: streamed\n"
      "BACKUP FROM: standby\n"
      "START TIME: 2026-12-06 09:18:09 UTC\n"
      "LABEL: pgdr 20261206T091809.000Z-0a0b\n"
      "START TIMELINE: 2\n";
  EXPECT_EQ(label_start_timeline(standby_label), 2u);
  EXPECT_EQ(label_start_timeline("START WAL LOCATION: 0/E056B70\n"), std::nullopt);
  EXPECT_EQ(label_start_timeline("START TIMELINE: x\n"), std::nullopt);
}

}  // namespace
}  // namespace pgdr::backup
