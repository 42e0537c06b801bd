#include "pg/page.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/error.h"

namespace pgdr::pg {
namespace {

// Pages cut from a cluster made by `initdb -k` (PostgreSQL 15): pg_class (relfilenode 1259 of
// database 1) blocks 0 and 1 and pg_attribute (1249) block 37, the block number in each name.
// pg_checksums --check passed on that cluster.
Bytes fixture(const std::string& name) {
  const auto path = std::filesystem::path(PGDR_UNIT_TEST_DIR) / "pg" / "data" / name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path.string());
  Bytes page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (page.size() != kPageBytes) throw std::runtime_error("fixture is not one page: " + path.string());
  return page;
}

struct Fixture {
  const char* file;
  std::uint32_t blkno;
  std::uint64_t lsn;
};
constexpr Fixture kFixtures[] = {
    {"pg_class_block0.bin", 0, 0x0158B4C8},
    {"pg_class_block1.bin", 1, 0x016768B8},
    {"pg_attribute_block37.bin", 37, 0x0150BA58},
};

void set_u16(Bytes& page, std::size_t offset, std::uint16_t v) { std::memcpy(page.data() + offset, &v, 2); }

TEST(Page, ChecksumMatchesWhatPostgresStored) {
  for (const auto& f : kFixtures) {
    const Bytes page = fixture(f.file);
    EXPECT_NE(stored_page_checksum(page), 0) << f.file;
    EXPECT_EQ(page_checksum(page, f.blkno), stored_page_checksum(page)) << f.file;
    EXPECT_EQ(check_page(page, f.blkno), PageCheck::ok) << f.file;
    EXPECT_EQ(page_lsn(page), f.lsn) << f.file;
    EXPECT_FALSE(page_is_new(page));
    EXPECT_FALSE(page_is_zero(page));
  }
}

TEST(Page, ChecksumIgnoresTheStoredChecksumField) {
  Bytes page = fixture("pg_class_block1.bin");
  const std::uint16_t expected = page_checksum(page, 1);
  set_u16(page, 8, 0);
  EXPECT_EQ(page_checksum(page, 1), expected);
  set_u16(page, 8, 0xFFFF);
  EXPECT_EQ(page_checksum(page, 1), expected);
  EXPECT_EQ(check_page(page, 1), PageCheck::bad_checksum);
}

TEST(Page, EveryFlippedByteChangesTheChecksum) {
  const Bytes original = fixture("pg_class_block0.bin");
  const std::uint16_t expected = page_checksum(original, 0);
  // One bit of every 7th byte, header and data alike, skipping pd_checksum.
  for (std::size_t offset = 0; offset < kPageBytes; offset += 7) {
    if (offset == 8 || offset == 9) continue;
    Bytes page = original;
    page[offset] ^= 0x01;
    EXPECT_NE(page_checksum(page, 0), expected) << "offset " << offset;
  }
  Bytes page = original;
  page[kPageBytes - 1] ^= 0x80;
  EXPECT_NE(page_checksum(page, 0), expected);
  EXPECT_EQ(check_page(page, 0), PageCheck::bad_checksum);
}

TEST(Page, ChecksumDependsOnTheBlockNumber) {
  const Bytes page = fixture("pg_attribute_block37.bin");
  EXPECT_EQ(check_page(page, 37), PageCheck::ok);
  EXPECT_EQ(check_page(page, 36), PageCheck::bad_checksum);
  // A page of segment file 1 carries its absolute block number.
  EXPECT_EQ(check_page(page, kBlocksPerSegment + 37), PageCheck::bad_checksum);
}

TEST(Page, ChecksumDoesNotNeedAlignedInput) {
  const Bytes page = fixture("pg_class_block1.bin");
  Bytes shifted(kPageBytes + 3);
  std::memcpy(shifted.data() + 3, page.data(), kPageBytes);
  const ByteView view(shifted.data() + 3, kPageBytes);
  EXPECT_EQ(page_checksum(view, 1), stored_page_checksum(page));
  EXPECT_EQ(page_lsn(view), 0x016768B8u);
}

TEST(Page, ChecksumIsNeverZero) {
  // The reduction is (hash % 65535) + 1: zero pages still get a value in 1..65535.
  const Bytes zero(kPageBytes, 0);
  for (std::uint32_t blkno = 0; blkno < 2000; ++blkno) EXPECT_NE(page_checksum(zero, blkno), 0);
}

TEST(Page, NewPages) {
  Bytes page(kPageBytes, 0);
  EXPECT_TRUE(page_is_new(page));
  EXPECT_TRUE(page_is_zero(page));
  EXPECT_EQ(check_page(page, 5), PageCheck::new_page);
  // pd_upper 0 but not all zero: PostgreSQL reports such a page as invalid.
  page[4000] = 1;
  EXPECT_TRUE(page_is_new(page));
  EXPECT_FALSE(page_is_zero(page));
  EXPECT_EQ(check_page(page, 5), PageCheck::bad_header);
  page[4000] = 0;
  page[kPageBytes - 1] = 1;
  EXPECT_FALSE(page_is_zero(page));
}

TEST(Page, BadHeaderWithAValidChecksum) {
  Bytes page = fixture("pg_class_block0.bin");
  set_u16(page, 16, 8193);  // pd_special past the page
  set_u16(page, 8, page_checksum(page, 0));
  EXPECT_EQ(check_page(page, 0), PageCheck::bad_header);

  page = fixture("pg_class_block0.bin");
  set_u16(page, 10, 0x0100);  // a flag bit PostgreSQL does not define
  set_u16(page, 8, page_checksum(page, 0));
  EXPECT_EQ(check_page(page, 0), PageCheck::bad_header);
}

TEST(Page, RejectsShortBuffers) {
  const Bytes short_page(100, 0);
  EXPECT_THROW(page_checksum(short_page, 0), Error);
  EXPECT_THROW(check_page(short_page, 0), Error);
  EXPECT_THROW(page_lsn(ByteView(short_page.data(), 7)), Error);
}

}  // namespace
}  // namespace pgdr::pg
