// The [log] section: defaults, values, and the one-line error for each mistake.
#include <gtest/gtest.h>

#include "config_test_support.h"
#include "config/config.h"

namespace pgdr {
namespace {

std::string error_of(const std::string& text) { return test::config_error_of(text); }

TEST(ConfigLogTest, DefaultsAreInfoOnStderrOnly) {
  Config d = parse_config("", "t.toml");
  EXPECT_EQ(d.log.level, LogLevel::info);
  EXPECT_EQ(d.log.file, "");
  EXPECT_EQ(d.log.syslog_facility, "");
}

TEST(ConfigLogTest, ValuesAreRead) {
  Config c = parse_config("[log]\nlevel = \"debug\"\nfile = \"/var/log/pgdr/pgdr.log\"\nsyslog = \"local3\"\n", "t.toml");
  EXPECT_EQ(c.log.level, LogLevel::debug);
  EXPECT_EQ(c.log.file, "/var/log/pgdr/pgdr.log");
  EXPECT_EQ(c.log.syslog_facility, "local3");
  EXPECT_EQ(parse_config("[log]\nsyslog = true\n", "t.toml").log.syslog_facility, "user");
  EXPECT_EQ(parse_config("[log]\nsyslog = false\n", "t.toml").log.syslog_facility, "");
  EXPECT_EQ(parse_config("[log]\nlevel = \"warn\"\n", "t.toml").log.level, LogLevel::warn);
  EXPECT_EQ(parse_config("[log]\nlevel = \"error\"\n", "t.toml").log.level, LogLevel::error);
}

TEST(ConfigLogTest, MistakesNameFileLineAndKey) {
  EXPECT_EQ(error_of("[log]\nlevel = \"verbose\"\n"),
            "invalid configuration: t.toml:2 ([log] level must be error, warn, info or debug)");
  EXPECT_EQ(error_of("[log]\nlevel = 3\n"), "invalid configuration: t.toml:2 ('level' in [log] must be a string)");
  EXPECT_EQ(error_of("[log]\nfile = \"pgdr.log\"\n"),
            "invalid configuration: t.toml:2 ([log] file must be an absolute path)");
  EXPECT_EQ(error_of("[log]\nsyslog = \"local9\"\n"),
            "invalid configuration: t.toml:2 ([log] syslog must be true, false or a facility: user, daemon, local0 to "
            "local7)");
  EXPECT_EQ(error_of("[log]\nsyslog = 1\n"),
            "invalid configuration: t.toml:2 ([log] syslog must be true, false or a facility: user, daemon, local0 to "
            "local7)");
  EXPECT_EQ(error_of("[log]\nlevels = \"info\"\n"), "invalid configuration: t.toml:2 (unknown key 'levels' in [log])");
  EXPECT_EQ(error_of("log = \"x\"\n"), "invalid configuration: t.toml:1 ([log] must be a table)");
}

}  // namespace
}  // namespace pgdr
