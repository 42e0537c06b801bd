// repo::wal_file_problem on real segments (tests/unit/pg/data/wal) and on what must never be
// archived under a WAL file name: empty files, zeros, text, another cluster's or another
// position's segment, broken history and backup history files.
#include "repo/wal_file_check.h"

#include <gtest/gtest.h>

#include "../pg/wal_fixtures.h"
#include "pg/lsn.h"

namespace pgdr::repo {
namespace {

constexpr std::uint64_t kSeg = 1u << 20;

const pg::testing::WalSegmentFile& real_segment() { return pg::testing::wal_fixture(15).segments.front(); }
std::uint64_t real_system_id() { return pg::testing::wal_fixture(15).expected_u64("system_identifier"); }

KnownCluster known(std::optional<std::uint64_t> sysid, std::optional<std::uint64_t> seg = kSeg) {
  KnownCluster k{{}, seg, "known from snapshot S in repository 'r'"};
  if (sysid) k.system_identifiers.insert(*sysid);
  return k;
}

TEST(WalFileCheck, RealSegmentPasses) {
  const auto& s = real_segment();
  EXPECT_EQ(wal_file_problem(s.name, s.bytes, known(real_system_id())), std::nullopt);
  EXPECT_EQ(wal_file_problem(s.name, s.bytes, KnownCluster{}), std::nullopt);  // size from its header
  EXPECT_EQ(wal_file_problem(s.name + ".partial", s.bytes, known(real_system_id())), std::nullopt);
  // Only the head and the size are needed.
  EXPECT_EQ(wal_file_problem(s.name, ByteView(s.bytes.data(), 8192), s.bytes.size(), known(real_system_id())),
            std::nullopt);
}

TEST(WalFileCheck, WhatIsNoSegmentIsRefused) {
  const auto& s = real_segment();
  EXPECT_EQ(wal_file_problem(s.name, Bytes{}, known(std::nullopt)), "empty file, not a WAL segment");
  EXPECT_EQ(wal_file_problem(s.name, to_bytes("some text\n"), known(std::nullopt)),
            "10 bytes, too short for a WAL segment");
  Bytes text(kSeg, 'x');
  EXPECT_EQ(wal_file_problem(s.name, text, known(std::nullopt)), "magic 7878 is not one of PostgreSQL 14 to 18");
  Bytes zeros(kSeg, 0);
  EXPECT_EQ(wal_file_problem(s.name, zeros, known(std::nullopt)), "its first page header is all zeros, not written WAL");
  Bytes cut(s.bytes.begin(), s.bytes.end() - 1);
  EXPECT_EQ(wal_file_problem(s.name, cut, known(std::nullopt)),
            "1048575 bytes where a segment has 1048576 (truncated or padded)");
  EXPECT_EQ(wal_file_problem(s.name, s.bytes, known(std::nullopt, 16u << 20)),
            "segment size 1048576 where 16777216 was expected, known from snapshot S in repository 'r'");
}

TEST(WalFileCheck, AnotherClusterOrPositionIsRefused) {
  const auto& s = real_segment();
  EXPECT_EQ(wal_file_problem(s.name, s.bytes, known(42)),
            "system identifier " + std::to_string(real_system_id()) +
                " where this cluster's is 42, known from snapshot S in repository 'r': WAL of another cluster");
  auto seg = *pg::parse_segment_file_name(s.name, kSeg);
  std::string later = pg::segment_file_name(seg.timeline, seg.segno + 1, kSeg);
  EXPECT_EQ(wal_file_problem(later, s.bytes, known(real_system_id())),
            "page address " + pg::to_string(pg::Lsn{seg.segno * kSeg}) + " where " +
                pg::to_string(pg::Lsn{(seg.segno + 1) * kSeg}) + " was expected: the segment of another position");
}

TEST(WalFileCheck, HistoryFiles) {
  EXPECT_EQ(wal_file_problem("00000002.history", to_bytes("1\t0/3000158\tno recovery target specified\n"),
                             KnownCluster{}),
            std::nullopt);
  EXPECT_EQ(wal_file_problem("00000002.history", Bytes{}, KnownCluster{}), "empty file");
  EXPECT_EQ(wal_file_problem("00000002.history", to_bytes("hello\n"), KnownCluster{}),
            "not a timeline history file (line 1: expected a numeric timeline ID)");
  EXPECT_EQ(wal_file_problem("00000002.history", Bytes{0x01, 0x00}, KnownCluster{}), "not text (holds NUL bytes)");
}

TEST(WalFileCheck, BackupHistoryFiles) {
  const std::string name = "000000010000000000000002.00000028.backup";
  const std::string good =
      "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nSTOP WAL LOCATION: 0/2000100 (file "
      "000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nLABEL: x\n";
  EXPECT_EQ(wal_file_problem(name, to_bytes(good), known(std::nullopt, 16u << 20)), std::nullopt);
  EXPECT_EQ(wal_file_problem(name, to_bytes("LABEL: x\n"), KnownCluster{}),
            "not a backup history file (no START WAL LOCATION line)");
  EXPECT_EQ(wal_file_problem(name, to_bytes("START WAL LOCATION: 0/2000028 (file 000000010000000000000003)\n"),
                             KnownCluster{}),
            "not a backup history file (START WAL LOCATION line is not '<LSN> (file 000000010000000000000002)')");
  EXPECT_EQ(wal_file_problem(name, to_bytes("START WAL LOCATION: 0/2000030 (file 000000010000000000000002)\n"),
                             known(std::nullopt, 16u << 20)),
            "not a backup history file (START WAL LOCATION 0/2000030 is not at the offset its name gives)");
}

TEST(WalFileCheck, SoundWalOfAnotherClusterIsToldApartFromDamage) {
  const auto& s = real_segment();
  EXPECT_TRUE(is_other_clusters_wal(s.name, s.bytes, known(real_system_id() + 1)));
  EXPECT_FALSE(is_other_clusters_wal(s.name, s.bytes, known(real_system_id())));
  EXPECT_FALSE(is_other_clusters_wal(s.name, s.bytes, KnownCluster{})) << "no identifier known: nothing to tell";
  // After an upgrade the repository knows both clusters: either one's WAL is its own.
  KnownCluster both = known(real_system_id() + 1);
  both.system_identifiers.insert(real_system_id());
  EXPECT_EQ(wal_file_problem(s.name, s.bytes, both), std::nullopt);
  // Damage stays damage, whoever's the segment is.
  Bytes truncated(s.bytes.begin(), s.bytes.begin() + 8192);
  EXPECT_FALSE(is_other_clusters_wal(s.name, truncated, known(real_system_id() + 1)));
}

}  // namespace
}  // namespace pgdr::repo
