#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"

namespace pgdr {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigRetentionTest, DefaultsAreTheDesignsClasses) {
  Config d = parse_config("", "t.toml");
  EXPECT_EQ(d.retention.hourly, 24);
  EXPECT_EQ(d.retention.daily, 7);
  EXPECT_EQ(d.retention.weekly, 4);
  EXPECT_EQ(d.retention.monthly, 12);
  EXPECT_EQ(d.retention.yearly, 0);
  EXPECT_EQ(d.retention.min_age, std::chrono::hours(1));
  EXPECT_EQ(d.retention.lock_wait, std::chrono::minutes(10));
}

TEST(ConfigRetentionTest, ValuesAreRead) {
  Config c = parse_config(
      "[retention]\nhourly = 0\ndaily = 14\nweekly = 8\nmonthly = 24\nyearly = 7\nmin_age = \"30m\"\nlock_wait = \"0s\"\n",
      "t.toml");
  EXPECT_EQ(c.retention.hourly, 0);
  EXPECT_EQ(c.retention.daily, 14);
  EXPECT_EQ(c.retention.weekly, 8);
  EXPECT_EQ(c.retention.monthly, 24);
  EXPECT_EQ(c.retention.yearly, 7);
  EXPECT_EQ(c.retention.min_age, std::chrono::minutes(30));
  EXPECT_EQ(c.retention.lock_wait, std::chrono::milliseconds(0));
}

TEST(ConfigRetentionTest, BadValuesAreRefused) {
  EXPECT_EQ(error_of("[retention]\nhourly = -1\n"),
            "invalid configuration: t.toml:2 ('hourly' in [retention] must be between 0 and 1000000)");
  EXPECT_EQ(error_of("[retention]\ndaily = \"7\"\n"),
            "invalid configuration: t.toml:2 ('daily' in [retention] must be an integer)");
  EXPECT_EQ(error_of("[retention]\nmin_age = \"soon\"\n"),
            "invalid configuration: t.toml:2 (invalid duration 'soon' (expected a number))");
  EXPECT_EQ(error_of("[retention]\nrepack_threshold = 0.5\n"),
            "invalid configuration: t.toml:2 (unknown key 'repack_threshold' in [retention])");
}

}  // namespace
}  // namespace pgdr
