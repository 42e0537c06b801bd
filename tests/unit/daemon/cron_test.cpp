#include "daemon/cron.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace pgdr::daemon {
namespace {

SystemTime at(const std::string& iso) {
  auto t = parse_iso8601(iso);
  EXPECT_TRUE(t) << iso;
  return *t;
}

std::string next(const std::string& expr, const std::string& from) {
  return iso8601(Schedule::parse(expr).next_after(at(from)));
}

TEST(Cron, HourlyFiresAtTheNextFullHourStrictlyAfter) {
  EXPECT_EQ(next("0 * * * *", "2026-11-26T02:30:00Z"), "2026-11-26T03:00:00Z");
  EXPECT_EQ(next("0 * * * *", "2026-11-26T03:00:00Z"), "2026-11-26T04:00:00Z");
  EXPECT_EQ(next("@hourly", "2026-11-26T23:59:59Z"), "2026-11-27T00:00:00Z");
}

TEST(Cron, SubSecondStartStillGivesTheNextWholeSlot) {
  auto t = at("2026-11-26T02:59:59Z") + std::chrono::milliseconds(500);
  EXPECT_EQ(iso8601(Schedule::parse("0 * * * *").next_after(t)), "2026-11-26T03:00:00Z");
}

TEST(Cron, DailyWeeklyMonthlyAsInTheGuide) {
  EXPECT_EQ(next("30 2 * * *", "2026-11-26T02:30:00Z"), "2026-11-27T02:30:00Z");
  EXPECT_EQ(next("30 2 * * *", "2026-11-26T01:00:00Z"), "2026-11-26T02:30:00Z");
  // 2026-11-26 is a Thursday; the next Sunday is the 29th.
  EXPECT_EQ(next("0 4 * * 0", "2026-11-26T12:00:00Z"), "2026-11-29T04:00:00Z");
  EXPECT_EQ(next("0 4 * * 7", "2026-11-26T12:00:00Z"), "2026-11-29T04:00:00Z");
  EXPECT_EQ(next("0 5 1 * *", "2026-11-26T12:00:00Z"), "2026-12-01T05:00:00Z");
  EXPECT_EQ(next("@monthly", "2026-12-15T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(next("@yearly", "2026-12-15T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(next("@weekly", "2026-11-26T00:00:00Z"), "2026-11-29T00:00:00Z");
}

TEST(Cron, StepsRangesAndLists) {
  EXPECT_EQ(next("*/5 * * * *", "2026-11-26T02:31:10Z"), "2026-11-26T02:35:00Z");
  EXPECT_EQ(next("10-20/5 * * * *", "2026-11-26T02:16:00Z"), "2026-11-26T02:20:00Z");
  EXPECT_EQ(next("10-20/5 * * * *", "2026-11-26T02:20:00Z"), "2026-11-26T03:10:00Z");
  EXPECT_EQ(next("5/20 * * * *", "2026-11-26T02:26:00Z"), "2026-11-26T02:45:00Z");
  EXPECT_EQ(next("0 1,13 * * *", "2026-11-26T02:00:00Z"), "2026-11-26T13:00:00Z");
  EXPECT_EQ(next("0 0 * * 1-5", "2026-11-27T12:00:00Z"), "2026-11-30T00:00:00Z");  // Friday -> Monday
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // Vixie cron: the 1st of the month or any Monday.
  EXPECT_EQ(next("0 0 1 * 1", "2026-11-26T00:00:00Z"), "2026-11-30T00:00:00Z");
  EXPECT_EQ(next("0 0 1 * 1", "2026-11-30T00:00:00Z"), "2026-12-01T00:00:00Z");
}

TEST(Cron, SecondsField) {
  EXPECT_EQ(next("*/10 * * * * *", "2026-11-26T02:30:01Z"), "2026-11-26T02:30:10Z");
  EXPECT_EQ(next("30 0 * * * *", "2026-11-26T02:00:30Z"), "2026-11-26T03:00:30Z");
}

TEST(Cron, LeapDayAndMonthEnds) {
  EXPECT_EQ(next("0 0 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  EXPECT_EQ(next("0 0 31 * *", "2026-11-26T00:00:00Z"), "2026-12-31T00:00:00Z");
  EXPECT_EQ(Schedule::parse("0 0 30 2 *").next_after(at("2026-01-01T00:00:00Z")), SystemTime::max());
}

TEST(Cron, EveryIsAnIntervalFromThePreviousRun) {
  auto s = Schedule::parse("@every 5s");
  EXPECT_EQ(s.every(), std::chrono::seconds(5));
  EXPECT_EQ(iso8601(s.next_after(at("2026-11-26T02:30:01Z"))), "2026-11-26T02:30:06Z");
  EXPECT_EQ(s.period_near(at("2026-11-26T02:30:01Z")), std::chrono::seconds(5));
  EXPECT_EQ(Schedule::parse("@every 1h30m").every(), std::chrono::minutes(90));
}

TEST(Cron, PeriodIsTheGapBetweenTheNextTwoFirings) {
  EXPECT_EQ(Schedule::parse("0 * * * *").period_near(at("2026-11-26T02:30:00Z")), std::chrono::hours(1));
  EXPECT_EQ(Schedule::parse("30 2 * * *").period_near(at("2026-11-26T02:30:00Z")), std::chrono::hours(24));
}

TEST(Cron, AfterBackup) {
  auto s = Schedule::parse("after backup");
  EXPECT_TRUE(s.after_backup());
  EXPECT_EQ(s.next_after(at("2026-11-26T02:30:00Z")), SystemTime::max());
}

TEST(Cron, RejectsWhatItDoesNotKnowWithTheReason) {
  auto message = [](const std::string& text) {
    try {
      Schedule::parse(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("* * * *"), "invalid schedule '* * * *' (a cron expression has 5 fields, or 6 with seconds first)");
  EXPECT_EQ(message("60 * * * *"), "invalid schedule '60 * * * *' (minute field out of range 0-59)");
  EXPECT_EQ(message("0 24 * * *"), "invalid schedule '0 24 * * *' (hour field out of range 0-23)");
  EXPECT_EQ(message("0 0 0 * *"), "invalid schedule '0 0 0 * *' (day-of-month field out of range 1-31)");
  EXPECT_EQ(message("0 0 * 13 *"), "invalid schedule '0 0 * 13 *' (month field out of range 1-12)");
  EXPECT_EQ(message("0 0 * * 8"), "invalid schedule '0 0 * * 8' (day-of-week field out of range 0-7)");
  EXPECT_EQ(message("0 0 * * mon"), "invalid schedule '0 0 * * mon' ('mon' is not a number in the day-of-week field)");
  EXPECT_EQ(message("*/0 * * * *"), "invalid schedule '*/0 * * * *' (step 0 in the minute field)");
  EXPECT_EQ(message("5-1 * * * *"), "invalid schedule '5-1 * * * *' (minute field out of range 0-59)");
  EXPECT_EQ(message("@every"), "invalid schedule '@every' (@every takes one duration, e.g. \"@every 10m\")");
  EXPECT_EQ(message("@every soon"), "invalid schedule '@every soon' ('soon' is not a duration)");
  EXPECT_EQ(message("@every 500ms"), "invalid schedule '@every 500ms' (@every needs at least 1s)");
  EXPECT_EQ(message("@fortnightly"), "invalid schedule '@fortnightly' (unknown macro @fortnightly)");
  EXPECT_EQ(message("1,,2 * * * *"), "invalid schedule '1,,2 * * * *' (empty list item in the minute field)");
}

// Found by fuzzing (tests/fuzz/corpus/cron_fuzz/regress-every-overflow): an interval this long
// overflowed the nanoseconds of the next firing time, which then came before the previous one.
TEST(Cron, EveryBeyondTheRangeOfTheClockIsRefused) {
  try {
    Schedule::parse("@every 511111111m");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "invalid schedule '@every 511111111m' ('511111111m' is not a duration)");
  }
  auto s = Schedule::parse("@every 36500d");
  const SystemTime t = at("2026-11-26T02:30:00Z");
  EXPECT_GT(s.next_after(t), t);
}

}  // namespace
}  // namespace pgdr::daemon
