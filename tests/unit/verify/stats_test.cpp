#include "verify/stats.h"

#include <gtest/gtest.h>

namespace pgdr::verify {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr double kMiB = 1024.0 * 1024.0;

SystemTime at(long long epoch_seconds) { return SystemTime(seconds(epoch_seconds)); }

TEST(MedianTest, OddEvenAndEmpty) {
  EXPECT_EQ(median({}), 0);
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
}

TEST(MedianTest, MadIgnoresOneOutlier) {
  EXPECT_EQ(median_absolute_deviation({10, 11, 9, 10, 1000}), 1);
}

TEST(JudgeSizeTest, FiveTimesTheBaselineIsAnAnomaly) {
  std::vector<double> base{40 * kMiB, 41 * kMiB, 40 * kMiB, 39 * kMiB};
  auto v = judge_size(200 * kMiB, base, 5);
  EXPECT_TRUE(v.anomaly);
  EXPECT_GT(v.z, 5);
  EXPECT_EQ(v.median, 40 * kMiB);
}

TEST(JudgeSizeTest, SuddenShrinkageIsAnAnomaly) {
  std::vector<double> base{400 * kMiB, 410 * kMiB, 405 * kMiB};
  auto v = judge_size(40 * kMiB, base, 5);
  EXPECT_TRUE(v.anomaly);
  EXPECT_LT(v.z, -5);
}

TEST(JudgeSizeTest, IdenticalBaselineDoesNotFlagSmallChanges) {
  // MAD 0: the floor of 10 % of the median (and 1 MiB) keeps ordinary drift quiet.
  std::vector<double> base{100 * kMiB, 100 * kMiB, 100 * kMiB};
  EXPECT_FALSE(judge_size(130 * kMiB, base, 5).anomaly);
  std::vector<double> small{200e3, 200e3, 210e3};
  EXPECT_FALSE(judge_size(900e3, small, 5).anomaly);
}

TEST(JudgeSizeTest, AnOutlierInTheBaselineDoesNotHideTheNextOne) {
  // A mean and standard deviation would be dragged by the 5 GiB backup; the median is not.
  std::vector<double> base{100 * kMiB, 5000 * kMiB, 101 * kMiB, 99 * kMiB, 100 * kMiB};
  EXPECT_TRUE(judge_size(600 * kMiB, base, 5).anomaly);
}

TEST(CoverageTest, HourlySlotsOnTheHourAndTheMissingOneNamed) {
  // now = 10:30; window 4 h: slots 06:30.. -> complete slots 07:00-08:00, 08-09, 09-10.
  long long h = 3600;
  SystemTime now = at(10 * h + 30 * 60);
  auto c = compute_coverage({at(7 * h + 5), at(9 * h + 59 * 60)}, now, hours(1), hours(4), std::nullopt);
  ASSERT_EQ(c.slots.size(), 3u);
  EXPECT_TRUE(c.slots[0].covered);
  EXPECT_FALSE(c.slots[1].covered);
  EXPECT_EQ(c.slots[1].start, at(8 * h));
  EXPECT_EQ(c.slots[1].end, at(9 * h));
  EXPECT_TRUE(c.slots[2].covered);
  EXPECT_EQ(c.covered, 2u);
  EXPECT_NEAR(c.percent, 66.67, 0.01);
}

TEST(CoverageTest, NothingIsExpectedBeforeTheRepositoryExisted) {
  long long h = 3600;
  SystemTime now = at(10 * h + 30 * 60);
  // Created 08:10: 09:00-10:00 is the only complete slot that starts after it.
  auto c = compute_coverage({at(8 * h + 15 * 60)}, now, hours(1), hours(24), at(8 * h + 10 * 60));
  ASSERT_EQ(c.slots.size(), 1u);
  EXPECT_EQ(c.slots[0].start, at(9 * h));
  EXPECT_FALSE(c.slots[0].covered);
  EXPECT_EQ(c.percent, 0);
}

TEST(CoverageTest, NoCompleteSlotYetIsFullCoverage) {
  auto c = compute_coverage({}, at(1000), minutes(10), hours(1), at(999));
  EXPECT_TRUE(c.slots.empty());
  EXPECT_EQ(c.percent, 100);
}

TEST(CoverageTest, SeveralSnapshotsInOneSlotCountOnce) {
  auto c = compute_coverage({at(100), at(101), at(102)}, at(120), seconds(10), seconds(30), std::nullopt);
  // Slots 90-100, 100-110, 110-120.
  ASSERT_EQ(c.slots.size(), 3u);
  EXPECT_EQ(c.covered, 1u);
  EXPECT_TRUE(c.slots[1].covered);
}

}  // namespace
}  // namespace pgdr::verify
