#include "repo/retention.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace pgdr::repo {
namespace {

SystemTime at(const std::string& iso) {
  auto t = parse_iso8601(iso);
  EXPECT_TRUE(t) << iso;
  return t.value_or(SystemTime{});
}

RetentionPolicy none() {
  RetentionPolicy p;
  p.hourly = p.daily = p.weekly = p.monthly = p.yearly = 0;
  p.min_age = std::chrono::milliseconds(0);
  return p;
}

// Snapshots named by their time, one cluster.
std::vector<RetentionInput> snaps(const std::vector<std::string>& times, const std::string& cluster = "c1") {
  std::vector<RetentionInput> out;
  for (const auto& t : times) out.push_back({t, cluster, at(t)});
  return out;
}

std::set<std::string> kept(const std::vector<RetentionVerdict>& v) {
  std::set<std::string> out;
  for (const auto& x : v)
    if (x.keep) out.insert(x.id);
  return out;
}

TEST(RetentionTest, TheNewestIsAlwaysKeptAndNothingElseWithAnEmptyPolicy) {
  auto in = snaps({"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"});
  auto v = apply_retention(in, none(), at("2026-06-01T00:00:00Z"));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(kept(v), (std::set<std::string>{"2026-01-03T00:00:00Z"}));
  EXPECT_EQ(v[2].reasons, (std::vector<std::string>{"newest"}));
  EXPECT_TRUE(v[0].reasons.empty());
  EXPECT_EQ(v[0].id, "2026-01-01T00:00:00Z");  // verdicts come in input order
}

TEST(RetentionTest, MinAgeKeepsEverythingYoungerAndSnapshotsDatedInTheFuture) {
  RetentionPolicy p = none();
  p.min_age = std::chrono::hours(1);
  auto in = snaps({"2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z", "2026-01-01T11:00:01Z", "2026-01-01T11:30:00Z",
                   "2026-01-01T13:00:00Z"});
  auto v = apply_retention(in, p, at("2026-01-01T12:00:00Z"));
  EXPECT_EQ(kept(v), (std::set<std::string>{"2026-01-01T11:00:01Z", "2026-01-01T11:30:00Z", "2026-01-01T13:00:00Z"}));
  EXPECT_EQ(v[1].reasons.size(), 0u);  // exactly one hour old: not younger than 1h
  EXPECT_EQ(v[3].reasons, (std::vector<std::string>{"younger than 1h"}));
  EXPECT_EQ(v[4].reasons, (std::vector<std::string>{"newest", "younger than 1h"}));
}

TEST(RetentionTest, HourlyKeepsTheNewestOfEachOfTheNewestHoursThatHaveOne) {
  RetentionPolicy p = none();
  p.hourly = 3;
  // Two in hour 09, none in hour 10 (a gap does not use up a slot), two in 11, one in 12.
  auto in = snaps({"2026-01-01T08:30:00Z", "2026-01-01T09:05:00Z", "2026-01-01T09:55:00Z", "2026-01-01T11:10:00Z",
                   "2026-01-01T11:50:00Z", "2026-01-01T12:01:00Z"});
  auto v = apply_retention(in, p, at("2026-01-02T00:00:00Z"));
  EXPECT_EQ(kept(v), (std::set<std::string>{"2026-01-01T09:55:00Z", "2026-01-01T11:50:00Z", "2026-01-01T12:01:00Z"}));
  EXPECT_EQ(v[5].reasons, (std::vector<std::string>{"newest", "hourly 1 of 3"}));
  EXPECT_EQ(v[4].reasons, (std::vector<std::string>{"hourly 2 of 3"}));
  EXPECT_EQ(v[2].reasons, (std::vector<std::string>{"hourly 3 of 3"}));
}

TEST(RetentionTest, DailyUsesUtcDays) {
  RetentionPolicy p = none();
  p.daily = 2;
  auto in = snaps({"2026-03-01T23:59:59Z", "2026-03-02T00:00:00Z", "2026-03-02T23:00:00Z", "2026-03-03T01:00:00Z"});
  auto v = apply_retention(in, p, at("2026-04-01T00:00:00Z"));
  EXPECT_EQ(kept(v), (std::set<std::string>{"2026-03-02T23:00:00Z", "2026-03-03T01:00:00Z"}));
}

TEST(RetentionTest, WeeksRunFromMondayToSunday) {
  RetentionPolicy p = none();
  p.weekly = 3;
  // 2026-03-01 is a Sunday, 2026-03-02 a Monday; 2026-03-08 the next Sunday, 2026-03-09 a Monday.
  auto in = snaps({"2026-02-23T12:00:00Z", "2026-03-01T23:00:00Z", "2026-03-02T00:30:00Z", "2026-03-08T22:00:00Z",
                   "2026-03-09T01:00:00Z"});
  auto v = apply_retention(in, p, at("2026-04-01T00:00:00Z"));
  EXPECT_EQ(kept(v), (std::set<std::string>{"2026-03-01T23:00:00Z", "2026-03-08T22:00:00Z", "2026-03-09T01:00:00Z"}));
}

TEST(RetentionTest, MonthlyAndYearlyUseCalendarMonthsAndYears) {
  RetentionPolicy p = none();
  p.monthly = 2;
  p.yearly = 2;
  auto in = snaps({"2024-06-01T00:00:00Z", "2024-12-31T23:00:00Z", "2025-01-31T00:00:00Z", "2025-02-01T00:00:00Z",
                   "2025-02-28T00:00:00Z"});
  auto v = apply_retention(in, p, at("2026-01-01T00:00:00Z"));
  // monthly: 2025-02 (newest of it: 02-28) and 2025-01; yearly: 2025 (02-28) and 2024 (12-31).
  EXPECT_EQ(kept(v), (std::set<std::string>{"2024-12-31T23:00:00Z", "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z"}));
  EXPECT_EQ(v[4].reasons, (std::vector<std::string>{"newest", "monthly 1 of 2", "yearly 1 of 2"}));
  EXPECT_EQ(v[1].reasons, (std::vector<std::string>{"yearly 2 of 2"}));
}

TEST(RetentionTest, ClassesCountPerCluster) {
  RetentionPolicy p = none();
  p.daily = 1;
  auto a = snaps({"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}, "a");
  auto b = snaps({"2026-01-01T12:00:00Z"}, "b");
  b[0].id = "b-only";
  a.insert(a.end(), b.begin(), b.end());
  auto v = apply_retention(a, p, at("2026-02-01T00:00:00Z"));
  EXPECT_EQ(kept(v), (std::set<std::string>{"2026-01-02T00:00:00Z", "b-only"}));
}

TEST(RetentionTest, DefaultsOverNinetyDaysOfHourlySnapshots) {
  RetentionPolicy p;  // 24 hourly, 7 daily, 4 weekly, 12 monthly, min_age 1h
  std::vector<RetentionInput> in;
  const SystemTime first = at("2026-01-01T00:15:00Z");
  for (int h = 0; h < 90 * 24; ++h) {
    SystemTime t = first + std::chrono::hours(h);
    in.push_back({iso8601(t), "c", t});
  }
  const SystemTime now = in.back().time + std::chrono::minutes(30);
  auto v = apply_retention(in, p, now);
  std::set<std::string> expect;
  for (int h = 0; h < 24; ++h) expect.insert(iso8601(in.back().time - std::chrono::hours(h)));  // hourly
  // The last snapshot is 2026-03-31T23:15Z (a Tuesday); each day's newest is at 23:15.
  for (int d = 25; d <= 31; ++d) expect.insert("2026-03-" + std::to_string(d) + "T23:15:00Z");   // daily
  for (auto s : {"2026-03-29T23:15:00Z", "2026-03-22T23:15:00Z", "2026-03-15T23:15:00Z"}) expect.insert(s);  // weekly (Sundays)
  for (auto s : {"2026-02-28T23:15:00Z", "2026-01-31T23:15:00Z"}) expect.insert(s);  // monthly (only 3 months exist)
  EXPECT_EQ(kept(v), expect);
}

}  // namespace
}  // namespace pgdr::repo
