#include "pg/segment_summary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"
#include "pg/wal_reader.h"
#include "wal_builder.h"
#include "wal_fixtures.h"

namespace pgdr::pg {
namespace {

using testing::WalFixture;

constexpr std::uint64_t kSegmentBytes = 1u << 20;  // make_fixtures.sh: initdb --wal-segsize=1

std::vector<SegmentSummary> summaries(const WalFixture& f, bool with_previous) {
  std::vector<SegmentSummary> out;
  for (std::size_t i = 0; i < f.segments.size(); ++i) {
    std::optional<ByteView> previous;
    if (with_previous && i > 0) previous = ByteView(f.segments[i - 1].bytes);
    out.push_back(summarize_segment(f.segments[i].name, f.segments[i].bytes, previous, kSegmentBytes));
  }
  return out;
}

// Every record of the fixture in one pass, as one map.
struct OnePass {
  ChangeMap map;
  std::uint64_t records = 0;
};
OnePass one_pass(const WalFixture& f) {
  WalReader r(kSegmentBytes);
  OnePass p;
  for (const auto& s : f.segments) {
    r.feed(s.name, s.bytes);
    while (const WalRecord* rec = r.next()) {
      note_wal_record(*rec, f.major, p.map);
      ++p.records;
    }
  }
  return p;
}

bool first_page_continues_a_record(const testing::WalSegmentFile& s) {
  return decode_wal_page_header(s.bytes)->info & 0x0001;
}

class SegmentSummaryMajor : public ::testing::TestWithParam<int> {};

TEST_P(SegmentSummaryMajor, WithThePreviousSegmentEachLinkHolds) {
  for (const WalFixture* f : {&testing::wal_fixture(GetParam()), &testing::wal_change_fixture(GetParam())}) {
    SCOPED_TRACE(f->dir);
    const auto s = summaries(*f, true);
    for (std::size_t i = 0; i < s.size(); ++i) {
      SCOPED_TRACE(s[i].segment);
      EXPECT_EQ(s[i].segment, f->segments[i].name);
      EXPECT_EQ(s[i].major, GetParam());
      EXPECT_EQ(s[i].timeline, 1u);
      EXPECT_EQ(s[i].segment_bytes, kSegmentBytes);
      if (f->expected.count("system_identifier")) {
        EXPECT_EQ(s[i].system_identifier, f->expected_u64("system_identifier"));
      }
      EXPECT_NE(s[i].system_identifier, 0u);
      EXPECT_FALSE(s[i].wal_ended);
      ASSERT_TRUE(s[i].first_record);
      EXPECT_GT(s[i].records, 0u);
      EXPECT_LE(*s[i].first_record, s[i].last_record);
      EXPECT_LT(s[i].last_record, s[i].end);
      if (i == 0) continue;
      EXPECT_TRUE(s[i].head_complete);
      EXPECT_EQ(s[i].first_prev, s[i - 1].last_record) << "xl_prev of the first record names the previous summary's last";
      // Where the previous segment's last record ended, this one's first starts (or after a page header).
      const std::uint64_t e = s[i - 1].end.value;
      const std::uint64_t start = s[i].first_record->value;
      EXPECT_TRUE(start == e || (e % kWalPageBytes == 0 && start == e + (e % kSegmentBytes == 0 ? 40 : 24)));
    }
  }
}

TEST_P(SegmentSummaryMajor, WithoutThePreviousSegmentACrossingRecordBreaksTheLinkVisibly) {
  const WalFixture& f = testing::wal_fixture(GetParam());
  const auto with = summaries(f, true);
  const auto without = summaries(f, false);
  std::size_t crossed = 0;
  for (std::size_t i = 1; i < f.segments.size(); ++i) {
    SCOPED_TRACE(f.segments[i].name);
    if (!first_page_continues_a_record(f.segments[i])) {
      EXPECT_TRUE(without[i].head_complete);
      EXPECT_EQ(without[i].first_prev, with[i - 1].last_record);
      continue;
    }
    ++crossed;
    EXPECT_FALSE(without[i].head_complete);
    ASSERT_TRUE(without[i].first_record);
    EXPECT_GE(without[i].first_record->value, parse_segment_file_name(f.segments[i].name, kSegmentBytes)->segno *
                                                  kSegmentBytes);
    // The first record it has names the crossing record, which the previous summary does not end with.
    EXPECT_NE(without[i].first_prev, with[i - 1].last_record);
    EXPECT_EQ(without[i].first_prev, *with[i].first_record);
    EXPECT_EQ(without[i].records + 1, with[i].records);
  }
  EXPECT_GT(crossed, 0u) << "the fixture has no record crossing a segment boundary";
}

TEST_P(SegmentSummaryMajor, UnionOfSegmentMapsIsTheMapOfOnePass) {
  for (const WalFixture* f : {&testing::wal_fixture(GetParam()), &testing::wal_change_fixture(GetParam())}) {
    SCOPED_TRACE(f->dir);
    const OnePass all = one_pass(*f);
    ChangeMap merged;
    std::uint64_t records = 0;
    for (const auto& s : summaries(*f, true)) {
      merged.merge(s.map);
      records += s.records;
    }
    EXPECT_EQ(records, all.records);
    EXPECT_TRUE(merged == all.map);
    EXPECT_EQ(merged.block_count(), all.map.block_count());
    EXPECT_GT(merged.block_count(), 50u);  // 14's change fixture is one small segment
  }
}

// What archive-push hands over: the previous segment's last pages only. The summary is the same,
// byte for byte, as with the whole previous segment (whose summaries the tests above hold against
// one pass over all the WAL).
TEST_P(SegmentSummaryMajor, ThePreviousSegmentsTailGivesTheSameSummary) {
  for (const WalFixture* f : {&testing::wal_fixture(GetParam()), &testing::wal_change_fixture(GetParam())}) {
    SCOPED_TRACE(f->dir);
    for (std::size_t i = 1; i < f->segments.size(); ++i) {
      SCOPED_TRACE(f->segments[i].name);
      const ByteView previous(f->segments[i - 1].bytes);
      const auto start = previous_decode_start(previous);
      ASSERT_TRUE(start);
      EXPECT_GT(*start, 0u);
      const Bytes whole = encode_segment_summary(summarize_segment(f->segments[i].name, f->segments[i].bytes,
                                                                   previous, kSegmentBytes));
      for (std::size_t tail_bytes : {std::size_t{64 * 1024}, previous.size() - *start}) {
        const ByteView tail = previous.last(tail_bytes);
        ASSERT_TRUE(previous_decode_start(tail));
        EXPECT_EQ(*previous_decode_start(tail), tail_bytes - (previous.size() - *start));
        EXPECT_EQ(encode_segment_summary(summarize_segment(f->segments[i].name, f->segments[i].bytes, tail,
                                                           kSegmentBytes)),
                  whole);
      }
      // One page holds at most one place to start: too little to find the record before the last.
      EXPECT_FALSE(previous_decode_start(previous.last(kWalPageBytes)));
      EXPECT_THROW(summarize_segment(f->segments[i].name, f->segments[i].bytes, previous.last(kWalPageBytes),
                                     kSegmentBytes),
                   Error);
    }
  }
}

TEST_P(SegmentSummaryMajor, RoundTripThroughBytes) {
  const WalFixture& f = testing::wal_change_fixture(GetParam());
  for (bool with_previous : {true, false}) {
    for (const auto& s : summaries(f, with_previous)) {
      SCOPED_TRACE(s.segment);
      const Bytes bytes = encode_segment_summary(s);
      const SegmentSummary back = decode_segment_summary(bytes, "summary of " + s.segment);
      EXPECT_EQ(back.segment, s.segment);
      EXPECT_EQ(back.timeline, s.timeline);
      EXPECT_EQ(back.segment_bytes, s.segment_bytes);
      EXPECT_EQ(back.system_identifier, s.system_identifier);
      EXPECT_EQ(back.major, s.major);
      EXPECT_EQ(back.head_complete, s.head_complete);
      EXPECT_EQ(back.first_record, s.first_record);
      EXPECT_EQ(back.first_prev, s.first_prev);
      EXPECT_EQ(back.last_record, s.last_record);
      EXPECT_EQ(back.end, s.end);
      EXPECT_EQ(back.wal_ended, s.wal_ended);
      EXPECT_EQ(back.records, s.records);
      EXPECT_TRUE(back.map == s.map);
      EXPECT_EQ(encode_segment_summary(back), bytes);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Majors, SegmentSummaryMajor, ::testing::Values(14, 15, 16, 17, 18),
                         [](const auto& info) { return "pg" + std::to_string(info.param); });

TEST(SegmentSummary, WalEndingInsideTheSegmentIsSaid) {
  const WalFixture& f = testing::wal_fixture(15);
  const auto whole = summaries(f, true);
  // The second segment as a server would leave it mid-write: zeros from page 40 on.
  Bytes partial = f.segments[1].bytes;
  std::fill(partial.begin() + 40 * kWalPageBytes, partial.end(), 0);
  const SegmentSummary s = summarize_segment(f.segments[1].name, partial, ByteView(f.segments[0].bytes), kSegmentBytes);
  EXPECT_TRUE(s.wal_ended);
  EXPECT_TRUE(s.head_complete);
  EXPECT_EQ(s.first_prev, whole[0].last_record);
  EXPECT_LT(s.records, whole[1].records);
  EXPECT_LE(s.end.value, segment_number(Lsn{s.end.value}, kSegmentBytes) * kSegmentBytes + 40 * kWalPageBytes);
  EXPECT_TRUE(decode_segment_summary(encode_segment_summary(s), "partial").wal_ended);
}

TEST(SegmentSummary, ASegmentCoveredByOneRecordPassesTheChainThrough) {
  // A, then B of 2.5 MiB from segment 0 over all of segment 1 into segment 2, then C.
  testing::WalBuilder w(16, 0x20);
  const std::uint64_t a = w.append(0 /* XLOG */, 0x00, 0, testing::main_data_part(100));
  const std::uint64_t b = w.append(0, 0x00, 0, testing::main_data_part(2560 * 1024));
  const std::uint64_t c = w.append(0, 0x00, 0, testing::main_data_part(100));
  const auto segs = w.segments();
  ASSERT_EQ(segs.size(), 3u);
  auto summary = [&](std::size_t i) {
    return summarize_segment(segs[i].name, segs[i].bytes, ByteView(segs[i - 1].bytes), kSegmentBytes);
  };
  const SegmentSummary first = summarize_segment(segs[0].name, segs[0].bytes, std::nullopt, kSegmentBytes);
  EXPECT_EQ(first.last_record.value, a);
  const SegmentSummary covered = summary(1);
  EXPECT_FALSE(covered.first_record);
  EXPECT_EQ(covered.records, 0u);
  EXPECT_TRUE(covered.head_complete);
  EXPECT_EQ(covered.first_prev, first.last_record);
  EXPECT_EQ(covered.last_record, first.last_record);
  EXPECT_EQ(covered.end, first.end);
  const SegmentSummary round = decode_segment_summary(encode_segment_summary(covered), "covered");
  EXPECT_FALSE(round.first_record);
  EXPECT_EQ(round.last_record, covered.last_record);
  // B began two segments back: with only segment 1 at hand it cannot be read, and the summary says so.
  const SegmentSummary after = summary(2);
  ASSERT_TRUE(after.first_record);
  EXPECT_EQ(after.first_record->value, c);
  EXPECT_FALSE(after.head_complete);
  EXPECT_EQ(after.first_prev.value, b);
  EXPECT_NE(after.first_prev, covered.last_record);
  EXPECT_TRUE(after.wal_ended);
  // Without its previous segment the covered one knows nothing of the chain.
  const SegmentSummary alone = summarize_segment(segs[1].name, segs[1].bytes, std::nullopt, kSegmentBytes);
  EXPECT_TRUE(alone.head_complete);
  EXPECT_EQ(alone.last_record.value, 0u);
  EXPECT_NE(alone.last_record, first.last_record);
}

TEST(SegmentSummary, ASegmentThatDoesNotDecodeIsNamed) {
  const WalFixture& f = testing::wal_fixture(16);
  Bytes bad = f.segments[1].bytes;
  bad[3 * kWalPageBytes + 100] ^= 0xFF;
  try {
    summarize_segment(f.segments[1].name, bad, std::nullopt, kSegmentBytes);
    ADD_FAILURE() << "summarised a damaged segment";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_NE(std::string(e.what()).find(f.segments[1].name), std::string::npos) << e.what();
  }
  EXPECT_THROW(summarize_segment("not-a-segment", f.segments[1].bytes, std::nullopt, kSegmentBytes), Error);
  // A previous segment that is not the one before.
  EXPECT_THROW(summarize_segment(f.segments[2].name, f.segments[2].bytes, ByteView(f.segments[0].bytes), kSegmentBytes),
               Error);
}

// Decoding must fail with Error(corrupt) "<what>: ..." naming why.
void expect_corrupt(ByteView bytes, const std::string& why_part) {
  try {
    decode_segment_summary(bytes, "summary of 000000010000000000000016");
    ADD_FAILURE() << "decoded damaged bytes; expected: " << why_part;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("summary of 000000010000000000000016: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(why_part), std::string::npos) << msg;
  }
}
Bytes with_crc(Bytes body) {
  put_u32le(body, crc32c(body));
  return body;
}

TEST(SegmentSummary, DamagedBytesAreRefused) {
  const WalFixture& f = testing::wal_fixture(17);
  const SegmentSummary s = summarize_segment(f.segments[1].name, f.segments[1].bytes, ByteView(f.segments[0].bytes),
                                             kSegmentBytes);
  const Bytes good = encode_segment_summary(s);
  // Every flipped byte.
  for (std::size_t i = 0; i < good.size(); i += (i < 200 ? 1 : 97)) {
    Bytes bad = good;
    bad[i] ^= 0x10;
    SCOPED_TRACE(i);
    EXPECT_THROW(decode_segment_summary(bad, "s"), Error);
  }
  Bytes flipped = good;
  flipped[60] ^= 0x10;
  expect_corrupt(flipped, "checksum mismatch");
  expect_corrupt(ByteView(good).first(good.size() - 1), "checksum mismatch");
  expect_corrupt(ByteView(good).first(20), "shorter than the smallest segment summary");
  Bytes longer = good;
  longer.push_back(1);
  expect_corrupt(longer, "checksum mismatch");

  const Bytes body(good.begin(), good.end() - 4);
  constexpr std::size_t kName = 13, kTimeline = kName + 24, kSegBytes = kTimeline + 4, kMajor = kSegBytes + 16;
  constexpr std::size_t kFlags = kMajor + 1, kFirst = kFlags + 1, kEnd = kFirst + 24, kMapLength = kEnd + 16;
  auto damaged = [&](std::size_t at, std::uint8_t v) {
    Bytes b = body;
    b[at] = v;
    return with_crc(b);
  };
  Bytes b = body;
  b[0] = 'X';
  expect_corrupt(with_crc(b), "wrong magic");
  expect_corrupt(damaged(8, 9), "segment summary version 9, where this pgdr reads version 1");
  expect_corrupt(damaged(12, 23), "segment name of 23 bytes");
  expect_corrupt(damaged(kName, 'Z'), "is not a WAL segment name");
  expect_corrupt(damaged(kTimeline, 2), "timeline 2 for segment");
  expect_corrupt(damaged(kSegBytes + 2, 0x30), "segment size");
  expect_corrupt(damaged(kMajor, 13), "major 13 is not one of");
  expect_corrupt(damaged(kFlags, 0x0B), "unknown flags 11");
  expect_corrupt(damaged(kFlags, 0x01), "records without a first record");
  expect_corrupt(damaged(kEnd + 7, 0x01), "record positions out of order or outside segment");
  expect_corrupt(damaged(kMapLength, static_cast<std::uint8_t>(body[kMapLength] + 1)), "change map of");
  // Bytes inside the nested map are the map's to refuse.
  expect_corrupt(damaged(kMapLength + 4, 'X'), "not a change map (wrong magic)");
  Bytes trailing = body;
  trailing.push_back(0);
  expect_corrupt(with_crc(trailing), "change map of");
}

}  // namespace
}  // namespace pgdr::pg
