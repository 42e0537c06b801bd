#include "verify/report.h"

#include <gtest/gtest.h>

namespace pgdr::verify {
namespace {

CheckResult check(const std::string& name, std::optional<CheckStatus> s) {
  CheckResult c;
  c.name = name;
  c.status = s;
  c.summary = name + " summary";
  return c;
}

TEST(ReportTest, ResultIsTheWorstCheckAndSkipDoesNotCount) {
  Report r;
  r.checks = {check("key", CheckStatus::pass), check("coverage", std::nullopt)};
  EXPECT_EQ(r.result(), CheckStatus::pass);
  EXPECT_EQ(r.exit_code(), 0);
  r.checks.push_back(check("size_anomalies", CheckStatus::warn));
  EXPECT_EQ(r.result(), CheckStatus::warn);
  EXPECT_EQ(r.exit_code(), 1);
  r.checks.push_back(check("checksums", CheckStatus::fail));
  r.checks.push_back(check("wal_continuity", CheckStatus::warn));
  EXPECT_EQ(r.result(), CheckStatus::fail);
  EXPECT_EQ(r.exit_code(), 2);
}

TEST(ReportTest, JsonCarriesResultAndEveryCheck) {
  Report r;
  r.cluster = "main";
  r.repository = "local";
  auto c = check("checksums", CheckStatus::fail);
  c.seconds = 1.5;
  c.findings.push_back({"critical", "corrupt pack packs/ab/ab12"});
  c.details = {{"bytes_read", 10}};
  r.checks = {check("key", CheckStatus::pass), c};
  auto j = r.to_json();
  EXPECT_EQ(j["format"], "pgdr-verify-report");
  EXPECT_EQ(j["result"], "FAIL");
  ASSERT_EQ(j["checks"].size(), 2u);
  EXPECT_EQ(j["checks"][1]["name"], "checksums");
  EXPECT_EQ(j["checks"][1]["status"], "FAIL");
  EXPECT_EQ(j["checks"][1]["seconds"], 1.5);
  EXPECT_EQ(j["checks"][1]["details"]["bytes_read"], 10);
  EXPECT_EQ(j["checks"][1]["findings"][0]["severity"], "critical");
  std::string text = r.text();
  EXPECT_NE(text.find("FAIL checksums"), std::string::npos) << text;
  EXPECT_NE(text.find("[critical] corrupt pack packs/ab/ab12"), std::string::npos) << text;
}

}  // namespace
}  // namespace pgdr::verify
