#include "pg/timeline_path.h"

#include <gtest/gtest.h>

namespace pgdr::pg {
namespace {

Lsn lsn(std::uint64_t v) { return Lsn{v}; }

// Timeline 3's history: 1 until 0/3000000, 2 until 0/5000000.
TimelineHistory history_of_3() {
  return parse_timeline_history("1\t0/3000000\tno recovery target specified\n2\t0/5000000\tat restore point\n", 3);
}

TEST(TimelinePath, OneTimeline) {
  auto p = find_timeline_path({1, lsn(0x1000028)}, {1, lsn(0x2000060)}, TimelineHistory{});
  EXPECT_EQ(p.reason, "");
  ASSERT_TRUE(p.ranges);
  EXPECT_EQ(*p.ranges, (std::vector<TimelineRange>{{1, lsn(0x1000028), lsn(0x2000060)}}));
}

TEST(TimelinePath, SamePointIsNoRange) {
  auto p = find_timeline_path({3, lsn(0x6000000)}, {3, lsn(0x6000000)}, history_of_3());
  ASSERT_TRUE(p.ranges);
  EXPECT_TRUE(p.ranges->empty());
}

TEST(TimelinePath, OneSwitch) {
  auto h = parse_timeline_history("1\t0/3000000\tno recovery target specified\n", 2);
  auto p = find_timeline_path({1, lsn(0x2000028)}, {2, lsn(0x4000028)}, h);
  ASSERT_TRUE(p.ranges) << p.reason;
  EXPECT_EQ(*p.ranges, (std::vector<TimelineRange>{{1, lsn(0x2000028), lsn(0x3000000)},
                                                   {2, lsn(0x3000000), lsn(0x4000028)}}));
}

TEST(TimelinePath, TwoSwitches) {
  auto p = find_timeline_path({1, lsn(0x2000028)}, {3, lsn(0x7000028)}, history_of_3());
  ASSERT_TRUE(p.ranges) << p.reason;
  EXPECT_EQ(*p.ranges, (std::vector<TimelineRange>{{1, lsn(0x2000028), lsn(0x3000000)},
                                                   {2, lsn(0x3000000), lsn(0x5000000)},
                                                   {3, lsn(0x5000000), lsn(0x7000028)}}));
}

TEST(TimelinePath, FromTheMiddleTimelineOfTwoSwitches) {
  auto p = find_timeline_path({2, lsn(0x4000028)}, {3, lsn(0x7000028)}, history_of_3());
  ASSERT_TRUE(p.ranges) << p.reason;
  EXPECT_EQ(*p.ranges, (std::vector<TimelineRange>{{2, lsn(0x4000028), lsn(0x5000000)},
                                                   {3, lsn(0x5000000), lsn(0x7000028)}}));
}

// The previous snapshot started exactly where timeline 2 took over: nothing of timeline 1 to cover.
TEST(TimelinePath, FromTheSwitchPointItself) {
  auto p = find_timeline_path({1, lsn(0x3000000)}, {3, lsn(0x5000000)}, history_of_3());
  ASSERT_TRUE(p.ranges) << p.reason;
  EXPECT_EQ(*p.ranges, (std::vector<TimelineRange>{{2, lsn(0x3000000), lsn(0x5000000)}}));
}

TEST(TimelinePath, NotAnAncestor) {
  auto p = find_timeline_path({4, lsn(0x2000028)}, {3, lsn(0x7000028)}, history_of_3());
  EXPECT_FALSE(p.ranges);
  EXPECT_EQ(p.reason, "timeline 4 is not timeline 3 or one of its ancestors");
}

// Timeline 2 left timeline 1 at 0/3000000; a snapshot taken on 1 at 0/3800000 holds changes that
// timeline 2 never had.
TEST(TimelinePath, BranchedOffBeforeThePreviousLsn) {
  auto p = find_timeline_path({1, lsn(0x3800000)}, {3, lsn(0x7000028)}, history_of_3());
  EXPECT_FALSE(p.ranges);
  EXPECT_EQ(p.reason, "timeline 3 branched off timeline 1 at 0/3000000, before LSN 0/3800000");
  p = find_timeline_path({2, lsn(0x5000001)}, {3, lsn(0x7000028)}, history_of_3());
  EXPECT_EQ(p.reason, "timeline 3 branched off timeline 2 at 0/5000000, before LSN 0/5000001");
}

TEST(TimelinePath, LsnsGoingBackwards) {
  auto p = find_timeline_path({1, lsn(0x2000028)}, {1, lsn(0x1000028)}, TimelineHistory{});
  EXPECT_FALSE(p.ranges);
  EXPECT_EQ(p.reason, "LSN 0/1000028 on timeline 1 is before LSN 0/2000028 on timeline 1");
  p = find_timeline_path({2, lsn(0x4000028)}, {3, lsn(0x3000028)}, history_of_3());
  EXPECT_EQ(p.reason, "LSN 0/3000028 on timeline 3 is before LSN 0/4000028 on timeline 2");
}

TEST(TimelinePath, PointsBeforeTheirTimelineBegan) {
  auto p = find_timeline_path({2, lsn(0x2000028)}, {3, lsn(0x7000028)}, history_of_3());
  EXPECT_FALSE(p.ranges);
  EXPECT_EQ(p.reason, "LSN 0/2000028 is before timeline 2 began at 0/3000000");
  p = find_timeline_path({1, lsn(0x2000028)}, {3, lsn(0x4000028)}, history_of_3());
  EXPECT_EQ(p.reason, "LSN 0/4000028 is before timeline 3 began at 0/5000000");
}

TEST(TimelinePath, UnusableHistory) {
  auto p = find_timeline_path({1, lsn(0x2000028)}, {3, lsn(0x7000028)}, parse_timeline_history("x\n", 3));
  EXPECT_FALSE(p.ranges);
  EXPECT_EQ(p.reason, "the history file of timeline 3 is unusable (line 1: expected a numeric timeline ID)");
  p = find_timeline_path({1, lsn(0x2000028)}, {3, lsn(0x7000028)},
                         parse_timeline_history("1\t0/5000000\tx\n2\t0/3000000\ty\n", 3));
  EXPECT_EQ(p.reason, "the history file of timeline 3 has timeline 2 ending at 0/3000000, before it began at 0/5000000");
}

}  // namespace
}  // namespace pgdr::pg
