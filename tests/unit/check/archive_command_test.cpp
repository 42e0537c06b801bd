#include "check/archive_command.h"

#include <gtest/gtest.h>

#include "check/check_report.h"

namespace pgdr::check {
namespace {

TEST(ArchiveCommandTest, FindsPgdrArchivePushAndConfig) {
  auto a = parse_archive_command("/usr/bin/pgdr --config /etc/pgdr/pgdr.toml archive-push %p");
  EXPECT_EQ(a.pgdr, "/usr/bin/pgdr");
  EXPECT_TRUE(a.archive_push);
  EXPECT_EQ(a.config, "/etc/pgdr/pgdr.toml");
}

TEST(ArchiveCommandTest, UnderstandsShellQuoting) {
  // What Context::pgdr_invocation writes, and the other ways a person quotes.
  auto a = parse_archive_command("'/opt/my tools/pgdr' --config '/etc/pgdr/it'\\''s.toml' archive-push --parallel 4 %p");
  EXPECT_EQ(a.pgdr, "/opt/my tools/pgdr");
  EXPECT_EQ(a.config, "/etc/pgdr/it's.toml");
  EXPECT_TRUE(a.archive_push);
  auto b = parse_archive_command("env PGDR_PASSPHRASE=x pgdr \"--config=/a b/c.toml\" archive-push %p");
  EXPECT_EQ(b.pgdr, "pgdr");
  EXPECT_EQ(b.config, "/a b/c.toml");
}

TEST(ArchiveCommandTest, OtherCommandsDoNotCallPgdr) {
  EXPECT_FALSE(parse_archive_command("/bin/true").pgdr);
  EXPECT_FALSE(parse_archive_command("test ! -f /mnt/server/%f && cp %p /mnt/server/%f").pgdr);
  // A name that merely starts with pgdr is another program.
  EXPECT_FALSE(parse_archive_command("/usr/bin/pgdr-wrapper %p").pgdr);
  auto get = parse_archive_command("pgdr --config /x.toml archive-get %f %p");
  EXPECT_TRUE(get.pgdr);
  EXPECT_FALSE(get.archive_push);
  EXPECT_FALSE(parse_archive_command("pgdr archive-push %p").config);
}

TEST(CheckReportTest, WorstStatusDecidesResultAndExitCode) {
  Report r;
  r.cluster = "main";
  r.checks.push_back({.name = "a", .status = CheckStatus::pass, .message = "fine"});
  EXPECT_EQ(r.exit_code(), 0);
  r.checks.push_back({.name = "b", .status = CheckStatus::warn, .message = "meh", .hint = "do x"});
  EXPECT_EQ(r.exit_code(), 1);
  r.checks.push_back({.name = "c", .status = CheckStatus::fail, .message = "bad", .hint = "do y"});
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_EQ(r.to_json()["result"], "FAIL");
  EXPECT_EQ(r.to_json()["checks"][1]["hint"], "do x");
  const std::string text = r.text();
  EXPECT_NE(text.find("WARN b"), std::string::npos) << text;
  EXPECT_NE(text.find("\n     HINT: do y\n"), std::string::npos) << text;
  EXPECT_NE(text.find("check of cluster 'main': FAIL (1 PASS, 1 WARN, 1 FAIL)"), std::string::npos) << text;
}

}  // namespace
}  // namespace pgdr::check
