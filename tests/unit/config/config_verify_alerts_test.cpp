#include <gtest/gtest.h>

#include "config/config.h"
#include "core/error.h"
#include "config_test_support.h"

namespace pgdr {
namespace {

std::string error_of(const std::string& text) { return test::config_error_of(text); }

TEST(ConfigVerifyTest, DefaultsAndValues) {
  Config d = parse_config("", "t.toml");
  EXPECT_EQ(d.verify.snapshot_interval, std::chrono::hours(1));
  EXPECT_EQ(d.verify.window, std::chrono::hours(24));
  EXPECT_EQ(d.verify.coverage_warn, 95);
  EXPECT_EQ(d.verify.coverage_fail, 80);
  EXPECT_EQ(d.verify.reverify_after, std::chrono::hours(24 * 30));
  EXPECT_EQ(d.alerts.min_severity, "investigate");
  Config c = parse_config(
      "[verify]\nsnapshot_interval = \"10s\"\nwindow = \"1m\"\ncoverage_warn = 90.5\ncoverage_fail = 50\n"
      "reverify_after = \"7d\"\nanomaly_threshold = 4\nanomaly_history = 5\nprocess_max = 4\n"
      "[alerts]\nsmtp_url = \"smtp://127.0.0.1:2525\"\nstarttls = true\nsmtp_user = \"u\"\nsmtp_password_env = \"P\"\n"
      "ca_file = \"/etc/ssl/internal-ca.pem\"\nfrom = \"a@b\"\nto = \"c@d\"\nwebhook_urls = [\"http://x/y\", \"https://z\"]\nmin_severity = \"alert\"\n",
      "t.toml");
  EXPECT_EQ(c.verify.snapshot_interval, std::chrono::seconds(10));
  EXPECT_EQ(c.verify.coverage_warn, 90.5);
  EXPECT_EQ(c.verify.anomaly_history, 5);
  EXPECT_EQ(c.alerts.to, std::vector<std::string>{"c@d"});
  EXPECT_EQ(c.alerts.webhook_urls.size(), 2u);
  EXPECT_TRUE(c.alerts.starttls);
  EXPECT_EQ(c.alerts.ca_file, "/etc/ssl/internal-ca.pem");
}

TEST(ConfigVerifyTest, Refusals) {
  EXPECT_EQ(error_of("[verify]\ncoverage_warn = 50\ncoverage_fail = 60\n"),
            "invalid configuration: t.toml:1 ([verify] coverage_fail must not exceed coverage_warn)");
  EXPECT_EQ(error_of("[verify]\nsnapshot_interval = \"2h\"\nwindow = \"1h\"\n"),
            "invalid configuration: t.toml:1 ([verify] window must be at least snapshot_interval)");
  EXPECT_EQ(error_of("[verify]\ncoverage_warn = \"x\"\n"),
            "invalid configuration: t.toml:2 ('coverage_warn' in [verify] must be a number)");
  EXPECT_EQ(error_of("[alerts]\nsmtp_url = \"http://x\"\n"),
            "invalid configuration: t.toml:2 ([alerts] smtp_url must start with smtp:// or smtps://)");
  EXPECT_EQ(error_of("[alerts]\nsmtp_url = \"smtp://x\"\n"),
            "invalid configuration: t.toml:1 ([alerts] smtp_url needs 'from' and 'to')");
  EXPECT_EQ(error_of("[alerts]\nmin_severity = \"loud\"\n"),
            "invalid configuration: t.toml:2 ([alerts] min_severity must be investigate, warning, alert or critical)");
  EXPECT_EQ(error_of("[alerts]\nto = [1]\n"),
            "invalid configuration: t.toml:2 ('to' in [alerts] must be a list of strings)");
  EXPECT_EQ(error_of("[alerts]\nca_file = \"ca.pem\"\n"),
            "invalid configuration: t.toml:2 ([alerts] ca_file must be an absolute path)");
  EXPECT_EQ(error_of("[alerts]\nsmtp_password = \"x\"\n"),
            "invalid configuration: t.toml:2 (unknown key 'smtp_password' in [alerts])");
}

// Found with the config fuzz target's range property (tests/fuzz/corpus/config_fuzz/regress-nan):
// TOML's nan compares false with both bounds, so it passed the range check, and a coverage
// threshold of NaN never warns.
TEST(ConfigVerifyTest, NotANumberIsOutOfRange) {
  EXPECT_EQ(error_of("[verify]\ncoverage_warn = nan\n"),
            "invalid configuration: t.toml:2 ('coverage_warn' in [verify] must be between 0 and 100)");
  EXPECT_EQ(error_of("[retention]\nrepack_threshold = -nan\n"),
            "invalid configuration: t.toml:2 ('repack_threshold' in [retention] must be between 0 and 100)");
  EXPECT_EQ(error_of("[verify]\nanomaly_threshold = inf\n"),
            "invalid configuration: t.toml:2 ('anomaly_threshold' in [verify] must be between 1 and 1000)");
}

}  // namespace
}  // namespace pgdr
