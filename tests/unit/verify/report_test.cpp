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

// What pgdr daemon records for a repository whose verify could not run: a FAIL of its own.
TEST(ReportTest, AVerifyThatCouldNotRunIsAFailOfItsRepository) {
  Report r = could_not_run("shop", "s3", SystemTime(std::chrono::seconds(1000)), 2.5,
                           "unable to reach the bucket (connection refused)");
  EXPECT_EQ(r.result(), CheckStatus::fail);
  EXPECT_EQ(r.exit_code(), 2);
  auto j = r.to_json();
  EXPECT_EQ(j["repository"], "s3");
  EXPECT_EQ(j["result"], "FAIL");
  ASSERT_EQ(j["checks"].size(), 1u);
  EXPECT_EQ(j["checks"][0]["name"], "repository");
  EXPECT_EQ(j["checks"][0]["status"], "FAIL");
  EXPECT_EQ(j["checks"][0]["summary"], "verify could not run: unable to reach the bucket (connection refused)");
  ASSERT_EQ(r.findings().size(), 1u);
  EXPECT_EQ(r.findings()[0].severity, "critical");
  EXPECT_EQ(r.findings()[0].message,
            "repository 's3' could not be verified: unable to reach the bucket (connection refused)");
}

}  // namespace
}  // namespace pgdr::verify
