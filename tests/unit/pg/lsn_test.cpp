#include "pg/lsn.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace pgdr::pg {
namespace {

constexpr std::uint64_t k16MiB = kDefaultWalSegmentBytes;

TEST(Lsn, ParsesPostgresNotation) {
  EXPECT_EQ(parse_lsn("16/B374D848"), Lsn{0x16B374D848ull});
  EXPECT_EQ(parse_lsn("0/0"), Lsn{0});
  EXPECT_EQ(parse_lsn("0/1"), Lsn{1});
  EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), Lsn{~0ull});
  EXPECT_EQ(parse_lsn("a/bc"), Lsn{(0xAull << 32) | 0xBC});
}

TEST(Lsn, RejectsWhatIsNotAnLsn) {
  for (const char* bad : {"", "/", "0/", "/0", "16B374D848", "1/2/3", "G/0", "0/0 ", " 0/0", "123456789/0",
                          "0/123456789", "-1/0", "0x1/0", "+1/0"}) {
    EXPECT_EQ(parse_lsn(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(Lsn, PrintsUpperCaseWithoutPadding) {
  EXPECT_EQ(to_string(Lsn{0x16B374D848ull}), "16/B374D848");
  EXPECT_EQ(to_string(Lsn{0}), "0/0");
  EXPECT_EQ(to_string(Lsn{0x100000000ull}), "1/0");
  EXPECT_EQ(to_string(Lsn{~0ull}), "FFFFFFFF/FFFFFFFF");
  for (std::uint64_t v : {0ull, 1ull, 0xABCDEF0123456789ull, 0x16B374D848ull}) {
    EXPECT_EQ(parse_lsn(to_string(Lsn{v})), Lsn{v});
  }
}

TEST(Lsn, Orders) {
  EXPECT_LT(*parse_lsn("0/FFFFFFFF"), *parse_lsn("1/0"));
  EXPECT_EQ(*parse_lsn("1/A"), *parse_lsn("1/a"));
}

TEST(Lsn, SegmentNumber) {
  EXPECT_EQ(segment_number(Lsn{0}, k16MiB), 0u);
  EXPECT_EQ(segment_number(Lsn{k16MiB - 1}, k16MiB), 0u);
  EXPECT_EQ(segment_number(Lsn{k16MiB}, k16MiB), 1u);
  // 16/B374D848 is in segment 0x16 * 256 + 0xB3.
  EXPECT_EQ(segment_number(*parse_lsn("16/B374D848"), k16MiB), 0x16u * 256 + 0xB3);
  EXPECT_EQ(segment_number(*parse_lsn("16/B374D848"), 1u << 30), 0x16u * 4 + 2);
}

TEST(Lsn, SegmentFileNameMatchesPostgres) {
  // pg_walfile_name('16/B374D848') on timeline 1 with 16 MiB segments.
  EXPECT_EQ(segment_file_name(1, segment_number(*parse_lsn("16/B374D848"), k16MiB), k16MiB),
            "0000000100000016000000B3");
  EXPECT_EQ(segment_file_name(1, 0, k16MiB), "000000010000000000000000");
  EXPECT_EQ(segment_file_name(0xA, 255, k16MiB), "0000000A00000000000000FF");
  EXPECT_EQ(segment_file_name(2, 256, k16MiB), "000000020000000100000000");
  // 64 MiB segments: 64 per xlogid.
  EXPECT_EQ(segment_file_name(1, 65, 64u << 20), "000000010000000100000001");
  EXPECT_EQ(segment_file_name(1, 3, 1u << 30), "000000010000000000000003");
  EXPECT_EQ(segment_file_name(1, 4, 1u << 30), "000000010000000100000000");
}

TEST(Lsn, ParsesSegmentFileNames) {
  const auto name = parse_segment_file_name("0000000100000016000000B3", k16MiB);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->timeline, 1u);
  EXPECT_EQ(name->segno, 0x16u * 256 + 0xB3);

  for (std::uint64_t segno : {0ull, 1ull, 255ull, 256ull, 0x123456ull}) {
    const auto parsed = parse_segment_file_name(segment_file_name(7, segno, k16MiB), k16MiB);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->timeline, 7u);
    EXPECT_EQ(parsed->segno, segno);
  }
}

TEST(Lsn, RejectsOtherWalDirectoryFiles) {
  for (const char* bad : {"00000002.history", "000000010000000000000003.partial",
                          "000000010000000000000002.00000028.backup", "0000000100000000000000", "archive_status",
                          "0000000100000000000000a3",   // PostgreSQL never writes lower case
                          "000000010000000000000100",   // low part beyond 255 with 16 MiB segments
                          "000000000000000000000001",   // timeline 0
                          "00000001000000000000000G"}) {
    EXPECT_EQ(parse_segment_file_name(bad, k16MiB), std::nullopt) << bad;
  }
  EXPECT_TRUE(parse_segment_file_name("0000000100000000000000FF", k16MiB));
  EXPECT_EQ(parse_segment_file_name("0000000100000000000000FF", 32u << 20), std::nullopt);
}

TEST(Lsn, RejectsImpossibleSegmentSizes) {
  EXPECT_THROW(segment_file_name(1, 0, 0), Error);
  EXPECT_THROW(segment_file_name(1, 0, 3u << 20), Error);
  EXPECT_THROW(segment_number(Lsn{0}, 512u << 10), Error);
  EXPECT_THROW(parse_segment_file_name("000000010000000000000000", 2ull << 30), Error);
}

}  // namespace
}  // namespace pgdr::pg
