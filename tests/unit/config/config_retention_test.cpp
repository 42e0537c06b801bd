#include <gtest/gtest.h>

#include "config/config.h"
#include "core/error.h"
#include "config_test_support.h"

namespace pgdr {
namespace {

std::string error_of(const std::string& text) { return test::config_error_of(text); }

TEST(ConfigRetentionTest, DefaultsAreTheDesignsClasses) {
  Config d = parse_config("", "t.toml");
  EXPECT_EQ(d.retention.hourly, 24);
  EXPECT_EQ(d.retention.daily, 7);
  EXPECT_EQ(d.retention.weekly, 4);
  EXPECT_EQ(d.retention.monthly, 12);
  EXPECT_EQ(d.retention.yearly, 0);
  EXPECT_EQ(d.retention.min_age, std::chrono::hours(1));
  EXPECT_EQ(d.retention.lock_wait, std::chrono::minutes(10));
  EXPECT_EQ(d.retention.repack_threshold, 50);
  EXPECT_EQ(d.retention.repack_grace, std::chrono::hours(24));
  EXPECT_EQ(d.retention.repack_max_packs, 64);
}

TEST(ConfigRetentionTest, ValuesAreRead) {
  Config c = parse_config(
      "[retention]\nhourly = 0\ndaily = 14\nweekly = 8\nmonthly = 24\nyearly = 7\nmin_age = \"30m\"\nlock_wait = \"0s\"\n"
      "repack_threshold = 12.5\nrepack_grace = \"2h\"\nrepack_max_packs = 5\n",
      "t.toml");
  EXPECT_EQ(c.retention.hourly, 0);
  EXPECT_EQ(c.retention.daily, 14);
  EXPECT_EQ(c.retention.weekly, 8);
  EXPECT_EQ(c.retention.monthly, 24);
  EXPECT_EQ(c.retention.yearly, 7);
  EXPECT_EQ(c.retention.min_age, std::chrono::minutes(30));
  EXPECT_EQ(c.retention.lock_wait, std::chrono::milliseconds(0));
  EXPECT_EQ(c.retention.repack_threshold, 12.5);
  EXPECT_EQ(c.retention.repack_grace, std::chrono::hours(2));
  EXPECT_EQ(c.retention.repack_max_packs, 5);
  EXPECT_EQ(parse_config("[retention]\nrepack_threshold = 0\nrepack_grace = \"0s\"\n", "t.toml").retention.repack_threshold, 0);
}

TEST(ConfigRetentionTest, BadValuesAreRefused) {
  EXPECT_EQ(error_of("[retention]\nhourly = -1\n"),
            "invalid configuration: t.toml:2 ('hourly' in [retention] must be between 0 and 1000000)");
  EXPECT_EQ(error_of("[retention]\ndaily = \"7\"\n"),
            "invalid configuration: t.toml:2 ('daily' in [retention] must be an integer)");
  EXPECT_EQ(error_of("[retention]\nmin_age = \"soon\"\n"),
            "invalid configuration: t.toml:2 (invalid duration 'soon' (expected a number))");
  EXPECT_EQ(error_of("[retention]\nrepack_threshold = 101\n"),
            "invalid configuration: t.toml:2 ('repack_threshold' in [retention] must be between 0 and 100)");
  EXPECT_EQ(error_of("[retention]\nrepack_threshold = \"50%\"\n"),
            "invalid configuration: t.toml:2 ('repack_threshold' in [retention] must be a number)");
  EXPECT_EQ(error_of("[retention]\nrepack_grace = 3600\n"),
            "invalid configuration: t.toml:2 ('repack_grace' in [retention] must be a duration such as \"4h\")");
  EXPECT_EQ(error_of("[retention]\nrepack_max_packs = 0\n"),
            "invalid configuration: t.toml:2 ('repack_max_packs' in [retention] must be between 1 and 1000000)");
  EXPECT_EQ(error_of("[retention]\nrepack = true\n"),
            "invalid configuration: t.toml:2 (unknown key 'repack' in [retention])");
}

}  // namespace
}  // namespace pgdr
