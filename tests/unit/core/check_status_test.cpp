#include "core/check_status.h"

#include <gtest/gtest.h>

namespace pgdr {
namespace {

constexpr CheckStatus kAll[] = {CheckStatus::pass, CheckStatus::warn, CheckStatus::fail};

TEST(CheckStatusTest, WrittenAsTheReportsWriteIt) {
  EXPECT_EQ(to_string(CheckStatus::pass), "PASS");
  EXPECT_EQ(to_string(CheckStatus::warn), "WARN");
  EXPECT_EQ(to_string(CheckStatus::fail), "FAIL");
  EXPECT_EQ(to_string(std::optional<CheckStatus>()), "SKIP");
  EXPECT_EQ(to_string(std::optional<CheckStatus>(CheckStatus::warn)), "WARN");
}

TEST(CheckStatusTest, ParsesWhatItWritesAndNothingElse) {
  for (CheckStatus s : kAll) EXPECT_EQ(parse_check_status(to_string(s)), s);
  for (const char* other : {"SKIP", "SKIPPED", "pass", "OK", "ERROR", "", "PASS "})
    EXPECT_EQ(parse_check_status(other), std::nullopt) << other;
}

TEST(CheckStatusTest, WorseIsFailOverWarnOverPass) {
  EXPECT_EQ(worse(CheckStatus::pass, CheckStatus::pass), CheckStatus::pass);
  EXPECT_EQ(worse(CheckStatus::pass, CheckStatus::warn), CheckStatus::warn);
  EXPECT_EQ(worse(CheckStatus::warn, CheckStatus::pass), CheckStatus::warn);
  EXPECT_EQ(worse(CheckStatus::warn, CheckStatus::fail), CheckStatus::fail);
  EXPECT_EQ(worse(CheckStatus::fail, CheckStatus::pass), CheckStatus::fail);
  for (CheckStatus a : kAll)
    for (CheckStatus b : kAll) EXPECT_EQ(worse(a, b), worse(b, a));
}

TEST(CheckStatusTest, ExitCodesFollowTheMonitoringConvention) {
  EXPECT_EQ(check_exit_code(CheckStatus::pass), 0);
  EXPECT_EQ(check_exit_code(CheckStatus::warn), 1);
  EXPECT_EQ(check_exit_code(CheckStatus::fail), 2);
}

}  // namespace
}  // namespace pgdr
