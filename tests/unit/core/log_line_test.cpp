// The text of file and syslog lines: every field in its place, control characters flattened.
#include "core/log_line.h"

#include <gtest/gtest.h>
#include <syslog.h>

#include <regex>

namespace pgdr {
namespace {

LogRecord record(LogLevel level, std::string message) {
  return {*parse_iso8601("2026-12-06T05:30:17.123Z"), level, std::move(message)};
}

TEST(LogLineTest, FileLineCarriesTimePidLevelCommandAndCluster) {
  EXPECT_EQ(log_file_line(record(LogLevel::warn, "disk nearly full"), {"archive-push", "main"}, 4242),
            "2026-12-06T05:30:17.123Z [4242] WARN archive-push cluster=main: disk nearly full\n");
  EXPECT_EQ(log_file_line(record(LogLevel::debug, "x"), {"restore", "shop"}, 7),
            "2026-12-06T05:30:17.123Z [7] DEBUG restore cluster=shop: x\n");
}

TEST(LogLineTest, UnknownCommandOrClusterIsADash) {
  EXPECT_EQ(log_file_line(record(LogLevel::error, "no configuration file"), {"", ""}, 1),
            "2026-12-06T05:30:17.123Z [1] ERROR - cluster=-: no configuration file\n");
}

TEST(LogLineTest, SyslogTextHasNoPidNorNewline) {
  EXPECT_EQ(log_syslog_text(record(LogLevel::info, "done"), {"backup", "main"}),
            "2026-12-06T05:30:17.123Z INFO backup cluster=main: done");
}

TEST(LogLineTest, SyslogDatagramIsFramedAsSyslog3Does) {
  const LogRecord r = record(LogLevel::warn, "m");
  const std::string d = syslog_datagram(LOG_LOCAL3, r, 99, "TEXT");
  // local3 (19) * 8 + warning (4) = 156; local time "Mmm dd hh:mm:ss", day padded with a space.
  EXPECT_TRUE(std::regex_match(d, std::regex(R"(<156>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d pgdr\[99\]: TEXT)"))) << d;
  EXPECT_TRUE(syslog_datagram(LOG_USER, record(LogLevel::error, "m"), 1, "x").starts_with("<11>"));
  EXPECT_TRUE(syslog_datagram(LOG_DAEMON, record(LogLevel::debug, "m"), 1, "x").starts_with("<31>"));
  EXPECT_TRUE(syslog_datagram(LOG_USER, record(LogLevel::info, "m"), 1, "x").starts_with("<14>"));
}

TEST(LogLineTest, ControlCharactersCannotForgeALine) {
  EXPECT_EQ(single_line("a\nb\rc\td\x1b[31m\x7f"), "a b c d [31m ");
  EXPECT_EQ(single_line("plain: text"), "plain: text");
}

TEST(LogLineTest, LevelNamesRoundTrip) {
  for (LogLevel l : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug})
    EXPECT_EQ(parse_log_level(log_level_name(l)), l);
  EXPECT_EQ(parse_log_level("warning"), std::nullopt);
  EXPECT_EQ(parse_log_level("DEBUG"), std::nullopt);
  EXPECT_EQ(parse_log_level(""), std::nullopt);
}

}  // namespace
}  // namespace pgdr
