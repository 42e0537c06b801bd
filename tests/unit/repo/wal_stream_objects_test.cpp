#include "repo/wal_stream_objects.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "repo/format.h"
#include "repo/wal_archive.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::contains;
using test::error_of;

constexpr std::uint64_t kSeg = 1u << 20;  // a small segment size keeps the tests quick
const std::string kName = "000000010000000000000003";

using WalStreamObjectsTest = test::OpenRepoTestBase;

TEST_F(WalStreamObjectsTest, ChunksAssembleToTheLongestRunFromOffsetZero) {
  Bytes data = test::random_data(300000, 1);
  write_stream_chunk(repo(), kName, 0, ByteView(data.data(), 100000));
  write_stream_chunk(repo(), kName, 100000, ByteView(data.data() + 100000, 150000));
  // After a restart the receiver may write from an earlier offset again: overlap is the same WAL.
  write_stream_chunk(repo(), kName, 200000, ByteView(data.data() + 200000, 100000));
  auto listed = list_streamed(repo(), kSeg);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, kName);
  EXPECT_EQ(listed[0].timeline, 1u);
  EXPECT_EQ(listed[0].segno, 3u);
  EXPECT_EQ(listed[0].contiguous_bytes, 300000u);
  auto content = read_streamed_segment(repo(), listed[0]);
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, data);

  remove_streamed_segment(repo(), listed[0]);
  EXPECT_TRUE(list_streamed(repo(), kSeg).empty());
}

TEST_F(WalStreamObjectsTest, AHoleEndsTheUsableRun) {
  Bytes data = test::random_data(3000, 2);
  write_stream_chunk(repo(), kName, 0, ByteView(data.data(), 1000));
  write_stream_chunk(repo(), kName, 2000, ByteView(data.data() + 2000, 1000));
  auto listed = list_streamed(repo(), kSeg);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].contiguous_bytes, 1000u);
  auto content = read_streamed_segment(repo(), listed[0]);
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, Bytes(data.begin(), data.begin() + 1000));
}

TEST_F(WalStreamObjectsTest, OnlyTheNewestSegmentOfATimelineIsServedZeroPadded) {
  Bytes data = test::random_data(5000, 3);
  write_stream_chunk(repo(), kName, 0, data);
  auto served = fetch_newest_streamed_segment(repo(), kName, kSeg);
  ASSERT_TRUE(served);
  ASSERT_EQ(served->size(), kSeg);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), served->begin()));
  EXPECT_TRUE(std::all_of(served->begin() + 5000, served->end(), [](std::uint8_t b) { return b == 0; }));
  // Another timeline, or a segment without chunks: nothing.
  EXPECT_FALSE(fetch_newest_streamed_segment(repo(), "000000020000000000000003", kSeg));
  EXPECT_FALSE(fetch_newest_streamed_segment(repo(), "000000010000000000000002", kSeg));

  // A later complete segment makes it a hole in the middle of the timeline, never served.
  push_wal_file(repo(), "000000010000000000000004", test::random_data(kSeg, 4));
  EXPECT_FALSE(fetch_newest_streamed_segment(repo(), kName, kSeg));
}

TEST_F(WalStreamObjectsTest, ALaterStreamedSegmentMakesAnEarlierOneNotTheNewest) {
  write_stream_chunk(repo(), kName, 0, test::random_data(100, 5));
  write_stream_chunk(repo(), "000000010000000000000004", 0, test::random_data(100, 6));
  EXPECT_FALSE(fetch_newest_streamed_segment(repo(), kName, kSeg));
  EXPECT_TRUE(fetch_newest_streamed_segment(repo(), "000000010000000000000004", kSeg));
}

TEST_F(WalStreamObjectsTest, ADamagedChunkIsReportedByName) {
  write_stream_chunk(repo(), kName, 0, test::random_data(1000, 7));
  std::string object = "stream/00000001/" + kName + ".00000000-000003E8";
  flip_byte(object, 20);
  auto listed = list_streamed(repo(), kSeg);
  ASSERT_EQ(listed.size(), 1u);
  Error e = error_of([&] { read_streamed_segment(repo(), listed[0]); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e.what(), object)) << e.what();
}

TEST_F(WalStreamObjectsTest, StatusRoundTrips) {
  EXPECT_FALSE(read_stream_status(repo()));
  StreamStatus s;
  s.system_identifier = "7301234567890123456";
  s.timeline = 2;
  s.flushed_lsn = "0/3000100";
  s.flushed_at = "2026-01-01T00:00:00.123Z";
  s.server_wal_end = "0/3000200";
  s.server_seen_at = "2026-01-01T00:00:00.200Z";
  s.slot = "pgdr_main";
  s.application_name = "pgdr_wal_stream";
  s.synchronous = true;
  s.running = false;
  write_stream_status(repo(), s);
  auto back = read_stream_status(repo());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->system_identifier, s.system_identifier);
  EXPECT_EQ(back->timeline, 2u);
  EXPECT_EQ(back->flushed_lsn, s.flushed_lsn);
  EXPECT_EQ(back->server_wal_end, s.server_wal_end);
  EXPECT_EQ(back->slot, s.slot);
  EXPECT_TRUE(back->synchronous);
  EXPECT_FALSE(back->running);
}

}  // namespace
}  // namespace pgdr::repo
