#include "alert/alert.h"

#include <gtest/gtest.h>

namespace pgdr::alert {
namespace {

TEST(AlertTest, RedactsCredentialsInUrls) {
  EXPECT_EQ(redact_url("smtp://user:s3cret@mail.example.com:587"), "smtp://mail.example.com:587");
  EXPECT_EQ(redact_url("https://hooks.example.com/a@b"), "https://hooks.example.com/a@b");
  EXPECT_EQ(redact_url("http://127.0.0.1:8080/hook"), "http://127.0.0.1:8080/hook");
}

TEST(AlertTest, MinSeverityFiltersFindings) {
  AlertsConfig cfg;
  std::vector<Finding> f{{Severity::investigate, "size"}, {Severity::warning, "coverage"},
                         {Severity::alert, "missing"}, {Severity::critical, "restore"}};
  EXPECT_EQ(to_send(cfg, f).size(), 4u);
  cfg.min_severity = "alert";
  auto s = to_send(cfg, f);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].message, "missing");
  cfg.min_severity = "critical";
  EXPECT_EQ(to_send(cfg, {{Severity::warning, "x"}}).size(), 0u);
  // Nothing to say: no channel is tried.
  cfg.webhook_urls = {"http://127.0.0.1:9/never"};
  Message m;
  m.findings = {{Severity::warning, "x"}};
  EXPECT_TRUE(send(cfg, m).empty());
}

TEST(AlertTest, EmailHasHeadersFindingsAndCrlf) {
  AlertsConfig cfg;
  cfg.from = "pgdr@example.com";
  cfg.to = {"dba@example.com", "ops@example.com"};
  Message m;
  m.subject = "pgdr verify FAIL\r\nBcc: evil@example.com";
  m.summary = "verify FAIL\n";
  std::vector<Finding> f{{Severity::critical, "corrupt pack packs/ab/ab12"}};
  std::string t = email_text(cfg, m, f);
  EXPECT_NE(t.find("From: pgdr@example.com\r\n"), std::string::npos);
  EXPECT_NE(t.find("To: dba@example.com, ops@example.com\r\n"), std::string::npos);
  EXPECT_NE(t.find("Subject: pgdr verify FAIL  Bcc: evil@example.com\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("- [critical] corrupt pack packs/ab/ab12\r\n"), std::string::npos);
  EXPECT_EQ(t.find("\n\n"), std::string::npos);
}

TEST(AlertTest, AFailingChannelIsReportedNotThrown) {
  AlertsConfig cfg;
  cfg.webhook_urls = {"http://127.0.0.1:1/hook"};
  cfg.timeout = std::chrono::seconds(5);
  Message m;
  m.findings = {{Severity::critical, "x"}};
  auto d = send(cfg, m);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].ok);
  EXPECT_EQ(d[0].channel, "webhook http://127.0.0.1:1/hook");
  EXPECT_FALSE(d[0].error.empty());
}

}  // namespace
}  // namespace pgdr::alert
