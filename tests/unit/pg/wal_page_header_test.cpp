// The page header entry points of pg/wal_reader.h, on real first pages of every major and on
// pages damaged one field at a time.
#include <gtest/gtest.h>

#include <algorithm>

#include "pg/version.h"
#include "pg/wal_reader.h"
#include "wal_fixtures.h"

namespace pgdr::pg {
namespace {

using testing::wal_fixture;

constexpr std::uint64_t kSeg = 1u << 20;

struct FirstPage {
  Bytes page;
  SegmentName name;
};

// Overwrites width bytes at offset, little-endian, as the server writes every header field.
void set_le(Bytes& b, std::size_t offset, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) b[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

FirstPage first_page(int major) {
  const auto& f = wal_fixture(major);
  const auto& s = f.segments.front();
  return {Bytes(s.bytes.begin(), s.bytes.begin() + kWalPageBytes), *parse_segment_file_name(s.name, kSeg)};
}

std::optional<std::string> problem(const FirstPage& p) {
  return segment_first_page_problem(p.page, p.name.timeline, Lsn{p.name.segno * kSeg}, kSeg);
}

TEST(WalPageHeader, DecodesTheLongHeaderOfEveryMajor) {
  for (int major = kOldestMajor; major <= kNewestMajor; ++major) {
    const auto& f = wal_fixture(major);
    auto p = first_page(major);
    auto h = decode_wal_page_header(p.page);
    ASSERT_TRUE(h) << major;
    EXPECT_EQ(h->major, major);
    EXPECT_TRUE(h->long_header);
    EXPECT_EQ(h->size(), kWalLongPageHeaderBytes);
    EXPECT_EQ(h->system_identifier, f.expected_u64("system_identifier"));
    EXPECT_EQ(h->segment_bytes, kSeg);
    EXPECT_EQ(h->block_bytes, kWalPageBytes);
    EXPECT_EQ(h->page_address, Lsn{p.name.segno * kSeg});
    EXPECT_EQ(wal_page_header_problem(*h), std::nullopt);
    EXPECT_EQ(problem(p), std::nullopt) << major;
  }
}

TEST(WalPageHeader, TooShortToDecode) {
  auto p = first_page(15);
  EXPECT_FALSE(decode_wal_page_header(ByteView(p.page.data(), 23)));
  EXPECT_FALSE(decode_wal_page_header(ByteView(p.page.data(), 39)));  // the long header is announced
  EXPECT_EQ(segment_first_page_problem(ByteView(p.page.data(), 30), 1, Lsn{p.name.segno * kSeg}, kSeg),
            "only 30 bytes, shorter than a WAL page header");
}

TEST(WalPageHeader, EachDamagedFieldIsNamed) {
  auto p = first_page(15);
  const std::string start = to_string(Lsn{p.name.segno * kSeg});

  auto zeros = p;
  std::fill(zeros.page.begin(), zeros.page.end(), 0);
  EXPECT_EQ(problem(zeros), "its first page header is all zeros, not written WAL");

  auto text = p;
  std::copy_n("hello, world", 12, text.page.begin());
  EXPECT_EQ(problem(text), "magic 6568 is not one of PostgreSQL 14 to 18");

  auto bits = p;
  set_le(bits.page, 2, 0x0042, 2);
  EXPECT_EQ(problem(bits), "unknown info bits 0042");

  auto short_header = p;
  set_le(short_header.page, 2, 0x0000, 2);
  EXPECT_EQ(problem(short_header), "its first page lacks the long header");

  auto block = p;
  set_le(block.page, 36, 4096, 4);
  EXPECT_EQ(problem(block), "WAL block size 4096 where pgdr reads 8192");

  auto odd = p;
  set_le(odd.page, 32, 3u << 20, 4);
  EXPECT_EQ(problem(odd), "its page header gives segment size 3145728, not a power of two from 1 MiB to 1 GiB");

  auto other = p;
  set_le(other.page, 32, 2u << 20, 4);
  EXPECT_EQ(problem(other), "segment size 2097152 where 1048576 was expected");

  auto moved = p;
  set_le(moved.page, 8, (p.name.segno + 2) * kSeg, 8);
  EXPECT_EQ(problem(moved), "page address " + to_string(Lsn{(p.name.segno + 2) * kSeg}) + " where " + start +
                                " was expected: the segment of another position");

  auto later = p;
  set_le(later.page, 4, 2, 4);
  EXPECT_EQ(problem(later), "page timeline 2 in a file of timeline 1");
  // The first segment of a new timeline starts with its parent's pages: an earlier timeline is fine.
  EXPECT_EQ(segment_first_page_problem(p.page, 2, Lsn{p.name.segno * kSeg}, kSeg), std::nullopt);
}

TEST(WalPageHeader, ValidSegmentSizes) {
  EXPECT_TRUE(is_valid_wal_segment_size(1u << 20));
  EXPECT_TRUE(is_valid_wal_segment_size(16u << 20));
  EXPECT_TRUE(is_valid_wal_segment_size(1u << 30));
  EXPECT_FALSE(is_valid_wal_segment_size(512u << 10));
  EXPECT_FALSE(is_valid_wal_segment_size(2ull << 30));
  EXPECT_FALSE(is_valid_wal_segment_size(3u << 20));
  EXPECT_FALSE(is_valid_wal_segment_size(0));
}

}  // namespace
}  // namespace pgdr::pg
