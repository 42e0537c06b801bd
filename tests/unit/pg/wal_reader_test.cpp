#include "pg/wal_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/time_format.h"
#include "pg/version.h"
#include "pg/xact_record.h"
#include "wal_builder.h"
#include "wal_fixtures.h"

namespace pgdr::pg {
namespace {

using testing::wal_fixture;
using testing::WalFixture;

constexpr std::uint64_t kSegmentBytes = 1u << 20;  // make_fixtures.sh: initdb --wal-segsize=1

// What a whole read of a fixture shows.
struct Summary {
  std::vector<std::uint64_t> lsns;
  std::vector<std::uint64_t> ends;
  std::size_t crossing_page = 0;
  std::size_t crossing_segment = 0;
  std::optional<std::uint64_t> first_crossing_segment_lsn;
  std::optional<std::uint64_t> first_crossing_segment_end;  // the first record start in the second segment
  std::optional<XactEnd> newest_commit;
  std::uint32_t newest_commit_xid = 0;
  std::size_t commits = 0, commits_prepared = 0, aborts = 0, aborts_prepared = 0;
  std::size_t accounts_refs = 0;
  std::size_t images = 0, pglz_images = 0, images_with_hole = 0, will_init = 0, with_data = 0, fsm_or_vm = 0;
  std::size_t blocks = 0;
  bool prev_chain_ok = true;
  std::uint8_t last_rmid = 0xFF, last_info = 0;
};

std::uint64_t segment_start(const testing::WalSegmentFile& s) {
  return parse_segment_file_name(s.name, kSegmentBytes)->segno * kSegmentBytes;
}

// A record ending at end (end_lsn) is followed by one at lsn: right there, or after the page
// header when end is a page boundary (24 bytes, 40 at a segment's start).
bool starts_at(std::uint64_t end, std::uint64_t lsn) {
  if (end % kWalPageBytes != 0) return lsn == end;
  return lsn == end + (end % kSegmentBytes == 0 ? 40 : 24);
}

Summary read_segments(const WalFixture& f, std::size_t first, std::size_t count, WalReader& r) {
  Summary s;
  const std::uint64_t accounts = f.expected_u64("accounts_relfilenode");
  const std::uint64_t db = f.expected_u64("database_oid");
  std::optional<std::uint64_t> prev;
  for (std::size_t i = first; i < first + count; ++i) {
    r.feed(f.segments[i].name, f.segments[i].bytes);
    while (const WalRecord* rec = r.next()) {
      const std::uint64_t lsn = rec->lsn.value, last = lsn + rec->total_bytes - 1;
      if (prev && rec->prev.value != *prev) s.prev_chain_ok = false;
      if (!s.ends.empty() && !starts_at(s.ends.back(), lsn)) s.prev_chain_ok = false;
      prev = lsn;
      s.lsns.push_back(lsn);
      s.ends.push_back(rec->end_lsn.value);
      if (lsn / kWalPageBytes != last / kWalPageBytes) ++s.crossing_page;
      if (lsn / kSegmentBytes != last / kSegmentBytes) {
        ++s.crossing_segment;
        if (!s.first_crossing_segment_end) {
          s.first_crossing_segment_lsn = lsn;
          s.first_crossing_segment_end = rec->end_lsn.value;
        }
      }
      if (auto x = xact_end(*rec)) {
        switch (x->kind) {
          case XactEndKind::commit: ++s.commits; break;
          case XactEndKind::commit_prepared: ++s.commits_prepared; break;
          case XactEndKind::abort: ++s.aborts; break;
          case XactEndKind::abort_prepared: ++s.aborts_prepared; break;
        }
        if (x->is_commit()) {
          s.newest_commit = x;
          s.newest_commit_xid = rec->xid;
        }
      }
      for (const BlockRef& b : rec->blocks) {
        ++s.blocks;
        if (b.rel.rel_number == accounts && b.rel.db_oid == db && b.rel.spc_oid == 1663) ++s.accounts_refs;
        if (b.has_image) {
          ++s.images;
          if (b.image.compression == ImageCompression::pglz) ++s.pglz_images;
          if (b.image.hole_length > 0) ++s.images_with_hole;
          EXPECT_TRUE(b.image.apply) << "at " << to_string(rec->lsn);
          EXPECT_FALSE(b.image.bytes.empty());
        }
        if (b.will_init) ++s.will_init;
        if (b.has_data) {
          ++s.with_data;
          EXPECT_FALSE(b.data.empty());
        }
        if (b.fork == ForkNumber::fsm || b.fork == ForkNumber::visibility_map) ++s.fsm_or_vm;
      }
      s.last_rmid = rec->rmid;
      s.last_info = rec->info;
    }
  }
  return s;
}

class WalReaderMajor : public ::testing::TestWithParam<int> {
 protected:
  const WalFixture& fixture() const { return wal_fixture(GetParam()); }
};

TEST_P(WalReaderMajor, DecodesEveryRecordOfItsSegments) {
  const WalFixture& f = fixture();
  ASSERT_GE(f.segments.size(), 3u);
  EXPECT_EQ(f.segments.front().name, f.expected.at("first_segment"));
  EXPECT_EQ(f.segments.back().name, f.expected.at("last_segment"));
  WalReader r(kSegmentBytes);
  Summary s = read_segments(f, 0, f.segments.size(), r);
  ::testing::Test::RecordProperty("records", static_cast<int>(s.lsns.size()));
  std::printf("PostgreSQL %d: %zu records, %zu block references, %zu images (%zu pglz)\n", GetParam(), s.lsns.size(),
              s.blocks, s.images, s.pglz_images);

  EXPECT_EQ(r.major(), GetParam());
  EXPECT_EQ(wal_page_magic(GetParam()), wal_page_magic(*r.major()));
  EXPECT_EQ(r.system_identifier(), f.expected_u64("system_identifier"));
  EXPECT_FALSE(r.ended());
  EXPECT_FALSE(r.in_record());
  EXPECT_GT(s.lsns.size(), 3000u);
  EXPECT_TRUE(s.prev_chain_ok) << "each record's xl_prev names the one before, and starts where it ended";
  // The first segment starts after a switch: its first record follows the long page header.
  EXPECT_EQ(s.lsns.front() % kSegmentBytes, 40u);
  // The last record is the switch; the reader then waits at the next segment's start.
  EXPECT_EQ(s.last_rmid, kRmgrXlog);
  EXPECT_EQ(s.last_info & 0xF0, kXlogSwitch);
  EXPECT_EQ(r.position().value % kSegmentBytes, 0u);
  EXPECT_EQ(s.lsns.back(), parse_lsn(f.expected.at("switch_lsn"))->value);

  if (f.expected.count("pg_waldump_records")) {
    // The major's own pg_waldump read the same segments (make_fixtures.sh, where installed).
    EXPECT_EQ(s.lsns.size(), f.expected_u64("pg_waldump_records"));
    EXPECT_EQ(s.blocks, f.expected_u64("pg_waldump_block_refs"));
    EXPECT_EQ(s.images, f.expected_u64("pg_waldump_full_page_images"));
  }

  EXPECT_GT(s.crossing_page, 0u) << "no record crosses a page boundary";
  EXPECT_GT(s.crossing_segment, 0u) << "no record crosses a segment boundary";

  ASSERT_TRUE(s.newest_commit.has_value());
  EXPECT_EQ(s.newest_commit->timestamp_us, static_cast<std::int64_t>(f.expected_u64("last_commit_timestamp_us")));
  EXPECT_EQ(s.newest_commit_xid, f.expected_u64("last_commit_xid"));
  EXPECT_GT(s.commits, 100u);
  EXPECT_GE(s.commits_prepared, 1u);
  EXPECT_GE(s.aborts, 1u);
  EXPECT_GE(s.aborts_prepared, 1u);

  EXPECT_GT(s.accounts_refs, 100u) << "pgbench_accounts's relfilenode in block references";
  EXPECT_GT(s.images, 50u);
  EXPECT_GT(s.pglz_images, 10u) << "wal_compression = on after the second checkpoint";
  EXPECT_GT(s.images - s.pglz_images, 10u) << "uncompressed images before it";
  EXPECT_GT(s.images_with_hole, 0u);
  EXPECT_GT(s.will_init, 0u);
  EXPECT_GT(s.with_data, 1000u);
  EXPECT_GT(s.fsm_or_vm, 0u) << "VACUUM touches the free space map or the visibility map";
}

TEST_P(WalReaderMajor, NewestCommitTimeIsTheServersOnTheWallClock) {
  const WalFixture& f = fixture();
  WalReader r(kSegmentBytes);
  Summary s = read_segments(f, 0, f.segments.size(), r);
  ASSERT_TRUE(s.newest_commit.has_value());
  const auto unix_us = std::chrono::duration_cast<std::chrono::microseconds>(s.newest_commit->time.time_since_epoch());
  EXPECT_EQ(unix_us.count(), static_cast<std::int64_t>(f.expected_u64("last_commit_timestamp_us")) + 946684800000000LL);
}

TEST_P(WalReaderMajor, TheSecondSegmentAloneStartsAtItsFirstWholeRecord) {
  const WalFixture& f = fixture();
  WalReader whole(kSegmentBytes);
  Summary all = read_segments(f, 0, f.segments.size(), whole);
  ASSERT_TRUE(all.first_crossing_segment_end.has_value());
  const std::uint64_t second_start = segment_start(f.segments[1]);
  ASSERT_LT(*all.first_crossing_segment_lsn, second_start);
  ASSERT_GT(*all.first_crossing_segment_end, second_start)
      << "the second segment must begin inside a record for this test to mean anything";

  WalReader alone(kSegmentBytes);
  Summary part = read_segments(f, 1, f.segments.size() - 1, alone);
  ASSERT_FALSE(part.lsns.empty());
  EXPECT_TRUE(starts_at(*all.first_crossing_segment_end, part.lsns.front()));
  // From there on, the same records as the whole read.
  std::size_t from = 0;
  while (from < all.lsns.size() && all.lsns[from] != part.lsns.front()) ++from;
  ASSERT_LT(from, all.lsns.size());
  EXPECT_EQ(std::vector<std::uint64_t>(all.lsns.begin() + static_cast<std::ptrdiff_t>(from), all.lsns.end()), part.lsns);
  EXPECT_TRUE(part.prev_chain_ok);
}

INSTANTIATE_TEST_SUITE_P(Majors, WalReaderMajor, ::testing::Values(14, 15, 16, 17, 18),
                         [](const ::testing::TestParamInfo<int>& p) { return "pg" + std::to_string(p.param); });

// ---- damage ---------------------------------------------------------------------------------

// Reads the fixture's segments (after damage) to the end; returns the error message, or "" when
// none was thrown. records receives how many records came out.
std::string read_damaged(const std::vector<testing::WalSegmentFile>& segments, std::size_t* records = nullptr,
                         WalReader* reader = nullptr) {
  WalReader own(kSegmentBytes);
  WalReader& r = reader ? *reader : own;
  std::size_t n = 0;
  try {
    for (const auto& s : segments) {
      r.feed(s.name, s.bytes);
      while (r.next()) ++n;
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    if (records) *records = n;
    return e.what();
  }
  if (records) *records = n;
  return "";
}

// The lsn of the n-th record of the 15 fixture that does not cross a page, and its length.
std::pair<std::uint64_t, std::uint32_t> record_within_a_page(const WalFixture& f, std::size_t n) {
  WalReader r(kSegmentBytes);
  r.feed(f.segments[0].name, f.segments[0].bytes);
  std::size_t seen = 0;
  while (const WalRecord* rec = r.next()) {
    const std::uint64_t lsn = rec->lsn.value;
    if (lsn / kWalPageBytes == (lsn + rec->total_bytes - 1) / kWalPageBytes && rec->total_bytes > 40 && seen++ == n)
      return {lsn, rec->total_bytes};
  }
  throw std::runtime_error("no such record");
}

TEST(WalReaderDamage, AFlippedByteInsideARecordFailsItsCrc) {
  const WalFixture& f = wal_fixture(15);
  auto segments = f.segments;
  const auto [lsn, len] = record_within_a_page(f, 100);
  segments[0].bytes[lsn - segment_start(segments[0]) + len - 1] ^= 0x01;
  std::size_t records = 0;
  EXPECT_EQ(read_damaged(segments, &records),
            "invalid WAL record at " + to_string(Lsn{lsn}) + " in segment " + segments[0].name + " (CRC mismatch)");
  EXPECT_GT(records, 100u);
}

TEST(WalReaderDamage, AFlippedByteInARecordThatCrossesSegmentsFailsItsCrc) {
  const WalFixture& f = wal_fixture(16);
  WalReader r(kSegmentBytes);
  std::uint64_t lsn = 0;
  r.feed(f.segments[0].name, f.segments[0].bytes);
  while (const WalRecord* rec = r.next()) lsn = rec->lsn.value;
  ASSERT_TRUE(r.in_record());
  const std::uint64_t pending = r.position().value;  // nothing after lsn was returned
  ASSERT_GT(pending, lsn);
  auto segments = f.segments;
  // The last byte of the second segment's first page belongs to the record (it continues there).
  segments[1].bytes[100] ^= 0x80;
  const std::string err = read_damaged(segments);
  EXPECT_NE(err.find("invalid WAL record at "), std::string::npos) << err;
  EXPECT_NE(err.find("(CRC mismatch)"), std::string::npos) << err;
  EXPECT_NE(err.find("in segment " + segments[1].name), std::string::npos) << err;
}

TEST(WalReaderDamage, AWrongPageMagicIsRefused) {
  const WalFixture& f = wal_fixture(14);
  auto segments = f.segments;
  const std::uint64_t page = segment_start(segments[0]) + 5 * kWalPageBytes;
  segments[0].bytes[5 * kWalPageBytes] = 0x34;
  segments[0].bytes[5 * kWalPageBytes + 1] = 0x12;
  EXPECT_EQ(read_damaged(segments), "invalid WAL page header at " + to_string(Lsn{page}) + " in segment " +
                                        segments[0].name + " (magic 1234 is not one of PostgreSQL 14 to 18)");
}

TEST(WalReaderDamage, AnotherMajorsMagicMidStreamIsRefused) {
  const WalFixture& f = wal_fixture(14);
  auto segments = f.segments;
  const std::uint64_t page = segment_start(segments[1]) + 3 * kWalPageBytes;
  const std::uint16_t magic15 = *wal_page_magic(15);
  segments[1].bytes[3 * kWalPageBytes] = static_cast<std::uint8_t>(magic15);
  segments[1].bytes[3 * kWalPageBytes + 1] = static_cast<std::uint8_t>(magic15 >> 8);
  EXPECT_EQ(read_damaged(segments), "invalid WAL page header at " + to_string(Lsn{page}) + " in segment " +
                                        segments[1].name + " (magic D110 of PostgreSQL 15 after pages of PostgreSQL 14)");
}

TEST(WalReaderDamage, AWrongPageAddressIsRefused) {
  const WalFixture& f = wal_fixture(17);
  auto segments = f.segments;
  const std::uint64_t page = segment_start(segments[0]) + 7 * kWalPageBytes;
  segments[0].bytes[7 * kWalPageBytes + 9] ^= 0x01;  // xlp_pageaddr's second byte: 256 bytes off
  EXPECT_EQ(read_damaged(segments), "invalid WAL page header at " + to_string(Lsn{page}) + " in segment " +
                                        segments[0].name + " (page address " + to_string(Lsn{page ^ 0x100}) +
                                        " where " + to_string(Lsn{page}) + " was expected)");
}

TEST(WalReaderDamage, AnotherSystemsSegmentIsRefused) {
  const WalFixture& f = wal_fixture(18);
  auto segments = f.segments;
  segments[2].bytes[24] ^= 0xFF;  // xlp_sysid of the long header
  const std::string err = read_damaged(segments);
  EXPECT_EQ(err.rfind("invalid WAL page header at " + to_string(Lsn{segment_start(segments[2])}) + " in segment " +
                          segments[2].name + " (system identifier ",
                      0),
            0u)
      << err;
  EXPECT_NE(err.find(" after segments of system " + f.expected.at("system_identifier") + ")"), std::string::npos) << err;
}

TEST(WalReaderDamage, ATruncatedSegmentIsRefused) {
  const WalFixture& f = wal_fixture(15);
  WalReader r(kSegmentBytes);
  const auto& s = f.segments[0];
  try {
    r.feed(s.name, ByteView(s.bytes).first(s.bytes.size() - 5000));
    FAIL() << "a truncated segment was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "invalid WAL segment " + s.name +
                                         " (1043576 bytes where a segment has 1048576: truncated or of another "
                                         "segment size)");
  }
}

TEST(WalReaderDamage, ASegmentOutOfSequenceIsRefused) {
  const WalFixture& f = wal_fixture(15);
  WalReader r(kSegmentBytes);
  r.feed(f.segments[0].name, f.segments[0].bytes);
  while (r.next()) {
  }
  try {
    r.feed(f.segments[2].name, f.segments[2].bytes);
    FAIL() << "a gap in the WAL was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_NE(std::string(e.what()).find("(it does not follow segment " + f.segments[0].name), std::string::npos)
        << e.what();
  }
}

TEST(WalReaderDamage, AWrongSegmentSizeInTheLongHeaderIsRefused) {
  const WalFixture& f = wal_fixture(16);
  auto segments = f.segments;
  segments[0].bytes[34] ^= 0x01;  // xlp_seg_size's third byte
  EXPECT_EQ(read_damaged(segments), "invalid WAL page header at " + to_string(Lsn{segment_start(segments[0])}) +
                                        " in segment " + segments[0].name +
                                        " (segment size 1114112 where 1048576 was expected)");
}

// ---- end of WAL -------------------------------------------------------------------------------

TEST(WalReaderEnd, ZerosWhereARecordShouldStartEndTheWalCleanly) {
  const WalFixture& f = wal_fixture(17);
  auto segments = f.segments;
  const auto [lsn, len] = record_within_a_page(f, 500);
  const std::uint64_t off = lsn - segment_start(segments[0]);
  std::fill(segments[0].bytes.begin() + static_cast<std::ptrdiff_t>(off), segments[0].bytes.end(), 0);
  WalReader r(kSegmentBytes);
  r.feed(segments[0].name, segments[0].bytes);
  std::uint64_t last = 0;
  std::size_t n = 0;
  while (const WalRecord* rec = r.next()) {
    last = rec->lsn.value;
    ++n;
  }
  EXPECT_TRUE(r.ended());
  EXPECT_EQ(r.position().value, lsn);
  EXPECT_LT(last, lsn);
  EXPECT_EQ(r.next(), nullptr);
  EXPECT_GT(n, 500u);
  (void)len;
}

TEST(WalReaderEnd, ARecordLengthOfZeroEndsTheWal) {
  const WalFixture& f = wal_fixture(14);
  auto segments = f.segments;
  const auto [lsn, len] = record_within_a_page(f, 50);
  const std::uint64_t off = lsn - segment_start(segments[0]);
  for (int i = 0; i < 4; ++i) segments[0].bytes[off + i] = 0;
  std::size_t n = 0;
  WalReader r(kSegmentBytes);
  EXPECT_EQ(read_damaged({segments[0]}, &n, &r), "");
  EXPECT_TRUE(r.ended());
  EXPECT_EQ(r.position().value, lsn);
  (void)len;
  // Nothing may follow the end of the WAL.
  try {
    r.feed(segments[1].name, segments[1].bytes);
    FAIL() << "a segment after the end of the WAL was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  }
}

TEST(WalReaderEnd, AZeroPageInsideARecordEndsTheWalBeforeIt) {
  const WalFixture& f = wal_fixture(16);
  WalReader probe(kSegmentBytes);
  const Summary all = read_segments(f, 0, f.segments.size(), probe);
  ASSERT_TRUE(all.first_crossing_segment_lsn.has_value());
  ASSERT_LT(*all.first_crossing_segment_lsn, segment_start(f.segments[1]));
  auto segments = f.segments;
  std::fill(segments[1].bytes.begin(), segments[1].bytes.end(), 0);
  WalReader r(kSegmentBytes);
  EXPECT_EQ(read_damaged({segments[0], segments[1]}, nullptr, &r), "");
  EXPECT_TRUE(r.ended());
  EXPECT_FALSE(r.in_record());
  EXPECT_EQ(r.position().value, *all.first_crossing_segment_lsn) << "the incomplete record is not returned";
}

// ---- built WAL: cases the fixtures cannot show on demand ---------------------------------------

namespace built {

using testing::main_data_part;
using testing::WalBuilder;

struct Read {
  std::vector<testing::WalSegmentFile> segments;  // what the views below point into
  std::vector<WalRecord> records;
  std::vector<std::vector<BlockRef>> blocks;
  std::vector<Bytes> main_data;
};

Read read_all(std::vector<testing::WalSegmentFile> segments, WalReader& r) {
  Read out;
  out.segments = std::move(segments);  // moving the vector keeps each segment's bytes where they are
  for (const auto& s : out.segments) {
    r.feed(s.name, s.bytes);
    while (const WalRecord* rec = r.next()) {
      out.records.push_back(*rec);
      out.blocks.emplace_back(rec->blocks.begin(), rec->blocks.end());
      out.main_data.emplace_back(rec->main_data.begin(), rec->main_data.end());
    }
  }
  return out;
}

TEST(WalReaderBuilt, ARecordHeaderSplitAcrossPagesAndARecordOverThreePages) {
  WalBuilder b(16, 5);
  // 40 + 8144 = 8184: the second record starts 8 bytes before the page ends, so only its length
  // is on the first page.
  const std::uint64_t a = b.append(kRmgrXlog, 0, 0, main_data_part(8144 - 24 - 5));
  EXPECT_EQ(b.position() % kWalPageBytes, 8184u);
  Bytes split_data, big_data;
  const std::uint64_t split = b.append(kRmgrXlog, 0, 7, main_data_part(100, &split_data));
  const std::uint64_t big = b.append(kRmgrXlog, 0, 8, main_data_part(20000, &big_data));
  WalReader r(WalBuilder::kSegmentBytes);
  Read got = read_all(b.segments(), r);
  ASSERT_EQ(got.records.size(), 3u);
  EXPECT_EQ(got.records[0].lsn.value, a);
  EXPECT_EQ(got.records[1].lsn.value, split);
  EXPECT_EQ(got.records[1].xid, 7u);
  EXPECT_EQ(got.main_data[1], split_data);
  EXPECT_EQ(got.records[2].lsn.value, big);
  EXPECT_EQ(got.main_data[2], big_data);
  EXPECT_TRUE(r.ended());
}

TEST(WalReaderBuilt, ARecordLostInACrashIsDroppedForTheOverwriteContrecord) {
  WalBuilder b(15, 9);
  const std::uint64_t a = b.append(kRmgrXlog, 0, 0, main_data_part(40));
  const std::uint64_t torn = b.append_torn(kRmgrXlog, 0, 0, main_data_part(30000));
  const std::uint64_t over = b.overwrite_contrecord(torn);
  const std::uint64_t after = b.append(kRmgrXlog, 0, 0, main_data_part(10));
  WalReader r(WalBuilder::kSegmentBytes);
  Read got = read_all(b.segments(), r);
  ASSERT_EQ(got.records.size(), 3u);
  EXPECT_EQ(got.records[0].lsn.value, a);
  EXPECT_EQ(got.records[1].lsn.value, over);
  EXPECT_EQ(got.records[1].info & 0xF0, kXlogOverwriteContrecord);
  EXPECT_EQ(got.records[1].prev.value, a) << "the overwrite record follows the last whole record";
  EXPECT_EQ(got.records[2].lsn.value, after);
}

TEST(WalReaderBuilt, AnOverwriteContrecordNamingAnotherRecordIsRefused) {
  WalBuilder b(17, 9);
  b.append(kRmgrXlog, 0, 0, main_data_part(40));
  const std::uint64_t torn = b.append_torn(kRmgrXlog, 0, 0, main_data_part(30000));
  const std::uint64_t over = b.overwrite_contrecord(torn + 8);
  WalReader r(WalBuilder::kSegmentBytes);
  try {
    read_all(b.segments(), r);
    FAIL() << "a wrong overwrite-contrecord record was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "invalid WAL record at " + to_string(Lsn{over}) + " in segment " +
                                         b.segments()[0].name + " (overwrite-contrecord record names " +
                                         to_string(Lsn{torn + 8}) + " where the record at " + to_string(Lsn{torn}) +
                                         " was overwritten)");
  }
}

Bytes u16(std::uint16_t v) { return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8)}; }
Bytes u32(std::uint32_t v) {
  Bytes b;
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return b;
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(WalReaderBuilt, OriginToplevelXidAndSameRelBlocks) {
  // Block 0 of 1663/5/16384 with 3 bytes of data, block 2 of the same relation's visibility map
  // (SAME_REL) re-initialised with 2 bytes, then 4 bytes of main data.
  const Bytes body = cat({{253}, u16(7), {252}, u32(901), {0, 0x20}, u16(3), u32(1663), u32(5), u32(16384), u32(12),
                          {2, 0x80 | 0x40 | 0x20 | 2}, u16(2), u32(99), {255, 4}, {1, 2, 3}, {4, 5}, {6, 7, 8, 9}});
  WalBuilder b(18, 3);
  b.append(10, 0x00, 902, body);
  WalReader r(WalBuilder::kSegmentBytes);
  Read got = read_all(b.segments(), r);
  ASSERT_EQ(got.records.size(), 1u);
  EXPECT_EQ(got.records[0].origin, std::optional<std::uint16_t>(7));
  EXPECT_EQ(got.records[0].toplevel_xid, std::optional<std::uint32_t>(901));
  ASSERT_EQ(got.blocks[0].size(), 2u);
  const BlockRef& b0 = got.blocks[0][0];
  const BlockRef& b2 = got.blocks[0][1];
  EXPECT_EQ(b0.id, 0);
  EXPECT_EQ(b0.rel, (RelFileLocator{1663, 5, 16384}));
  EXPECT_EQ(b0.block, 12u);
  EXPECT_EQ(b0.fork, ForkNumber::main);
  EXPECT_EQ(Bytes(b0.data.begin(), b0.data.end()), (Bytes{1, 2, 3}));
  EXPECT_EQ(b2.id, 2);
  EXPECT_EQ(b2.rel, b0.rel);
  EXPECT_EQ(b2.fork, ForkNumber::visibility_map);
  EXPECT_TRUE(b2.will_init);
  EXPECT_EQ(b2.block, 99u);
  EXPECT_EQ(Bytes(b2.data.begin(), b2.data.end()), (Bytes{4, 5}));
  EXPECT_EQ(got.main_data[0], (Bytes{6, 7, 8, 9}));
}

// One block with a 100-byte image: bimg_info as given, then a hole length of 200 when the major's
// bits say compressed with a hole.
Bytes image_record(std::uint8_t bimg_info, bool compress_header) {
  Bytes image(100, 0xAB);
  return cat({{0, 0x10}, u16(0), u16(100), u16(50), {bimg_info}, compress_header ? u16(200) : Bytes{}, u32(1663),
              u32(5), u32(16384), u32(1), image});
}

// The block's views point into segments that are gone by then: only its fields are for looking at.
BlockRef read_one_block(int major, const Bytes& body) {
  WalBuilder b(major, 3);
  b.append(10, 0, 0, body);
  WalReader r(WalBuilder::kSegmentBytes);
  Read got = read_all(b.segments(), r);
  EXPECT_EQ(got.records.size(), 1u);
  BlockRef out = got.blocks.at(0).at(0);
  EXPECT_EQ(out.image.bytes.size(), 100u);
  EXPECT_TRUE(std::all_of(out.image.bytes.begin(), out.image.bytes.end(), [](std::uint8_t v) { return v == 0xAB; }));
  out.image.bytes = {};
  out.data = {};
  return out;
}

TEST(WalReaderBuilt, ImageBitsOf14) {
  // 14: HAS_HOLE 0x01 | IS_COMPRESSED 0x02 (pglz) | APPLY 0x04.
  BlockRef blk = read_one_block(14, image_record(0x01 | 0x02 | 0x04, true));
  EXPECT_TRUE(blk.has_image);
  EXPECT_EQ(blk.image.compression, ImageCompression::pglz);
  EXPECT_TRUE(blk.image.apply);
  EXPECT_EQ(blk.image.hole_offset, 50);
  EXPECT_EQ(blk.image.hole_length, 200);
  // 0x10 is no bit of 14's.
  WalBuilder b(14, 3);
  b.append(10, 0, 0, image_record(0x10 | 0x01, true));
  WalReader r(WalBuilder::kSegmentBytes);
  EXPECT_THROW(read_all(b.segments(), r), Error);
}

TEST(WalReaderBuilt, ImageBitsOf15AndLater) {
  for (int major : {15, 16, 17, 18}) {
    // HAS_HOLE 0x01 | APPLY 0x02 | one of PGLZ 0x04, LZ4 0x08, ZSTD 0x10.
    EXPECT_EQ(read_one_block(major, image_record(0x01 | 0x02 | 0x04, true)).image.compression, ImageCompression::pglz);
    EXPECT_EQ(read_one_block(major, image_record(0x01 | 0x02 | 0x08, true)).image.compression, ImageCompression::lz4);
    BlockRef z = read_one_block(major, image_record(0x01 | 0x02 | 0x10, true));
    EXPECT_EQ(z.image.compression, ImageCompression::zstd);
    EXPECT_TRUE(z.image.apply);
    EXPECT_EQ(z.image.hole_length, 200);
    // 0x02 alone with a hole: applied, not compressed, the hole is the rest of the page.
    BlockRef u = read_one_block(major, image_record(0x01 | 0x02, false));
    EXPECT_EQ(u.image.compression, ImageCompression::none);
    EXPECT_TRUE(u.image.apply);
    EXPECT_EQ(u.image.hole_length, 8192 - 100);
  }
}

TEST(WalReaderBuilt, ABlockWhoseDataFlagDisagreesWithItsLengthIsRefused) {
  WalBuilder b(16, 3);
  const std::uint64_t lsn =
      b.append(10, 0, 0, cat({{0, 0x00}, u16(3), u32(1663), u32(5), u32(16384), u32(12), {1, 2, 3}}));
  WalReader r(WalBuilder::kSegmentBytes);
  try {
    read_all(b.segments(), r);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "invalid WAL record at " + to_string(Lsn{lsn}) + " in segment " +
                                         b.segments()[0].name +
                                         " (block 0 has a data flag that disagrees with its 3 bytes of data)");
  }
}

}  // namespace built

}  // namespace
}  // namespace pgdr::pg
