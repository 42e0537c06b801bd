// The [schedule] and [daemon] sections as the configuration parser reads them.
#include <gtest/gtest.h>

#include "config/config.h"
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
  EXPECT_EQ(c.daemon.listen, "127.0.0.1:7433");
  EXPECT_EQ(c.daemon.state_file, "");
  EXPECT_EQ(c.daemon.heatmap_days, 14);
  EXPECT_EQ(c.daemon.max_connections, 128);
  EXPECT_EQ(c.daemon.request_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.daemon.auth_token_file, "");
  EXPECT_EQ(c.daemon.auth_token_env, "");
  EXPECT_FALSE(c.daemon.health_auth);
  EXPECT_EQ(c.daemon.tls_cert_file, "");
  EXPECT_EQ(c.daemon.tls_key_file, "");
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

TEST(DaemonConfig, ReadsTheHttpLimitsTokenAndTlsKeys) {
  Config c = parse_config(kBase +
                              "[daemon]\nmax_connections = 16\nrequest_timeout = \"2s\"\n"
                              "auth_token_file = \"/etc/pgdr/token\"\nhealth_auth = true\n"
                              "tls_cert_file = \"/etc/pgdr/cert.pem\"\ntls_key_file = \"/etc/pgdr/key.pem\"\n",
                          "pgdr.toml");
  EXPECT_EQ(c.daemon.max_connections, 16);
  EXPECT_EQ(c.daemon.request_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.daemon.auth_token_file, "/etc/pgdr/token");
  EXPECT_TRUE(c.daemon.health_auth);
  EXPECT_EQ(c.daemon.tls_cert_file, "/etc/pgdr/cert.pem");
  EXPECT_EQ(c.daemon.tls_key_file, "/etc/pgdr/key.pem");
  Config e = parse_config(kBase + "[daemon]\nauth_token_env = \"PGDR_DAEMON_TOKEN\"\n", "pgdr.toml");
  EXPECT_EQ(e.daemon.auth_token_env, "PGDR_DAEMON_TOKEN");
}

TEST(DaemonConfig, RejectsContradictoryOrOutOfRangeHttpKeys) {
  EXPECT_EQ(config_error("[daemon]\nmax_connections = 1\n"),
            "invalid configuration: pgdr.toml:5 ('max_connections' in [daemon] must be between 2 and 1000)");
  EXPECT_EQ(config_error("[daemon]\nrequest_timeout = \"10m\"\n"),
            "invalid configuration: pgdr.toml:5 ([daemon] request_timeout must be between 100ms and 5m)");
  EXPECT_EQ(config_error("[daemon]\nauth_token_file = \"/t\"\nauth_token_env = \"T\"\n"),
            "invalid configuration: pgdr.toml:4 ([daemon] takes auth_token_file or auth_token_env, not both)");
  EXPECT_EQ(config_error("[daemon]\nauth_token_file = \"token\"\n"),
            "invalid configuration: pgdr.toml:5 ([daemon] auth_token_file must be an absolute path)");
  EXPECT_EQ(config_error("[daemon]\nhealth_auth = true\n"),
            "invalid configuration: pgdr.toml:5 ([daemon] health_auth needs auth_token_file or auth_token_env)");
  EXPECT_EQ(config_error("[daemon]\ntls_cert_file = \"/c.pem\"\n"),
            "invalid configuration: pgdr.toml:4 ([daemon] tls_cert_file and tls_key_file go together)");
  EXPECT_EQ(config_error("[daemon]\ntls_cert_file = \"/c.pem\"\ntls_key_file = \"k.pem\"\n"),
            "invalid configuration: pgdr.toml:6 ([daemon] tls_key_file must be an absolute path)");
}

}  // namespace
}  // namespace pgdr::daemon
