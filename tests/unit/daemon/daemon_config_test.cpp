// The [schedule] and [daemon] sections as the configuration parser reads them.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "daemon/daemon.h"

namespace pgdr::daemon {
namespace {

const std::string kBase = "[[repo]]\nname = \"r\"\npath = \"/srv/r\"\n";

std::string config_error(const std::string& text) {
  try {
    parse_config(kBase + text, "pgdr.toml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "accepted";
}

TEST(DaemonConfig, DefaultsWhenTheSectionsAreAbsent) {
  Config c = parse_config(kBase, "pgdr.toml");
  EXPECT_EQ(c.daemon.listen, "127.0.0.1:9187");
  EXPECT_EQ(c.daemon.state_file, "");
  EXPECT_EQ(c.daemon.heatmap_days, 14);
  for (const auto& k : job_kinds()) EXPECT_EQ(schedule_text(c.schedule, k.name), "") << k.name;
}

TEST(DaemonConfig, ReadsEveryJobAndTheDaemonKeys) {
  Config c =
      parse_config(kBase +
                       "[schedule]\nbackup = \"0 * * * *\"\nverify = \"30 2 * * *\"\nrestore_test = \"0 4 * * 0\"\n"
                       "drill = \"0 5 1 * *\"\nexpire = \"after backup\"\nmeasure = \"*/5 * * * *\"\n"
                       "[daemon]\nlisten = \"0.0.0.0:9200\"\nstate_file = \"/var/lib/pgdr/state.json\"\n"
                       "heatmap_days = 30\n",
                   "pgdr.toml");
  EXPECT_EQ(schedule_text(c.schedule, "backup"), "0 * * * *");
  EXPECT_EQ(schedule_text(c.schedule, "verify"), "30 2 * * *");
  EXPECT_EQ(schedule_text(c.schedule, "restore_test"), "0 4 * * 0");
  EXPECT_EQ(schedule_text(c.schedule, "drill"), "0 5 1 * *");
  EXPECT_EQ(schedule_text(c.schedule, "expire"), "after backup");
  EXPECT_EQ(schedule_text(c.schedule, "measure"), "*/5 * * * *");
  EXPECT_EQ(c.daemon.listen, "0.0.0.0:9200");
  EXPECT_EQ(c.daemon.state_file, "/var/lib/pgdr/state.json");
  EXPECT_EQ(c.daemon.heatmap_days, 30);
}

TEST(DaemonConfig, RejectsUnknownKeysWrongTypesAndRelativePaths) {
  EXPECT_EQ(config_error("[schedule]\nbackups = \"0 * * * *\"\n"),
            "invalid configuration: pgdr.toml:5 (unknown key 'backups' in [schedule])");
  EXPECT_EQ(config_error("[schedule]\nbackup = 5\n"),
            "invalid configuration: pgdr.toml:5 ('backup' in [schedule] must be a string)");
  EXPECT_EQ(config_error("[daemon]\nstate_file = \"state.json\"\n"),
            "invalid configuration: pgdr.toml:5 ([daemon] state_file must be an absolute path)");
  EXPECT_EQ(config_error("[daemon]\nheatmap_days = 0\n"),
            "invalid configuration: pgdr.toml:5 ('heatmap_days' in [daemon] must be between 1 and 366)");
}

}  // namespace
}  // namespace pgdr::daemon
