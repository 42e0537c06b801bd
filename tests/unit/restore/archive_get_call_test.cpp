// restore_command as pgdr writes it: rendered once from an ArchiveGetCall, every value shell-quoted
// (spaces, quotes, `$` and backslashes reach archive-get as written), %f and %p left bare for
// PostgreSQL, and the whole written into postgresql.auto.conf so that PostgreSQL reads it back as
// rendered.
#include "restore/archive_get_call.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../storage/temp_dir.h"
#include "core/file.h"
#include "core/subprocess.h"
#include "pg/setting_literal.h"
#include "restore/recovery_settings.h"

namespace pgdr::restore {
namespace {

ArchiveGetCall ordinary() {
  ArchiveGetCall c;
  c.binary = "/usr/bin/pgdr";
  c.config_path = "/etc/pgdr/pgdr.toml";
  return c;
}

// PostgreSQL's substitution in restore_command: %f and %p replaced as they are, unquoted.
std::string as_postgres_runs_it(std::string cmd, const std::string& f, const std::string& p) {
  for (auto [key, value] : {std::pair{std::string("%f"), f}, std::pair{std::string("%p"), p}}) {
    auto at = cmd.find(key);
    if (at != std::string::npos) cmd.replace(at, key.size(), value);
  }
  return cmd;
}

// A string literal of postgresql.conf as PostgreSQL reads it (GUC_scanstr in guc-file.l): the
// quotes stripped, a backslash takes the next character as it is, '' is one quote. The escapes
// \b \f \n \r \t and octal digits that pgdr never writes are left out.
std::string read_setting_literal(const std::string& literal) {
  EXPECT_GE(literal.size(), 2u);
  EXPECT_EQ(literal.front(), '\'');
  EXPECT_EQ(literal.back(), '\'');
  std::string out;
  for (std::size_t i = 1; i + 1 < literal.size(); ++i) {
    if (literal[i] == '\\') out += literal[++i];
    else if (literal[i] == '\'' && literal[i + 1] == '\'') out += literal[++i];
    else if (literal[i] == '\'') ADD_FAILURE() << "the literal ends early at " << i << ": " << literal;
    else out += literal[i];
  }
  return out;
}

TEST(ArchiveGetCallTest, OrdinaryValuesRenderAsBefore) {
  ArchiveGetCall c = ordinary();
  EXPECT_EQ(c.render(), "'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml' archive-get %f %p");
  c.repo = "local";
  EXPECT_EQ(c.render(), "'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml' archive-get --repo 'local' %f %p");
  c.wal_segment_bytes = 16u << 20;  // archive-get's default: not named
  EXPECT_EQ(c.render(), "'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml' archive-get --repo 'local' %f %p");
  c.wal_segment_bytes = 64u << 20;
  EXPECT_EQ(c.render(),
            "'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml' archive-get --wal-segment-size 67108864 --repo 'local' %f %p");
}

TEST(ArchiveGetCallTest, DrillLimitsFollowTheRepository) {
  ArchiveGetCall c = ordinary();
  c.repo = "local";
  c.until_segment = "00000001000000000000000A";
  EXPECT_EQ(c.render(),
            "'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml' archive-get --repo 'local' --until "
            "'00000001000000000000000A' %f %p");
  c.until_lsn = "0/A000060";
  EXPECT_EQ(c.render(),
            "'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml' archive-get --repo 'local' --until "
            "'00000001000000000000000A' --until-lsn '0/A000060' %f %p");
}

TEST(ArchiveGetCallTest, QuotesEveryValueAndLeavesThePlaceholdersBare) {
  ArchiveGetCall c;
  c.binary = "/opt/my tools/pgdr";
  c.config_path = "/etc/o'brien/$HOME/pgdr.toml";
  c.repo = "it's \"$(rm -rf x)\" `id` \\ ok";
  c.until_segment = "00000001000000000000000A";
  EXPECT_EQ(c.render(),
            "'/opt/my tools/pgdr' --config '/etc/o'\\''brien/$HOME/pgdr.toml' archive-get --repo "
            "'it'\\''s \"$(rm -rf x)\" `id` \\ ok' --until '00000001000000000000000A' %f %p");
  EXPECT_TRUE(c.render().ends_with(" %f %p"));
}

TEST(ArchiveGetCallTest, TheShellHandsArchiveGetEveryValueAsWritten) {
  pgdr::test::TempDir t;
  // A stand-in for pgdr that prints its arguments, one per line, in a directory whose name needs quoting.
  const std::string dir = t.path() + "/bin dir 'q' $x";
  make_directories(dir, 0700);
  const std::string binary = dir + "/pgdr";
  write_file_durably(binary, as_bytes("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"), 0700);
  ArchiveGetCall c;
  c.binary = binary;
  c.config_path = t.path() + "/it's $HOME.toml";
  c.repo = "o'brien \"x\" $PATH `id` \\n";
  c.until_segment = "00000001000000000000000A";
  c.until_lsn = "0/A000060";
  c.wal_segment_bytes = 1u << 20;
  ProcessResult r = run_shell(as_postgres_runs_it(c.render(), "00000001000000000000000B", "pg_wal/RECOVERYXLOG"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> args;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) args.push_back(line);
  EXPECT_EQ(args, (std::vector<std::string>{"--config", c.config_path, "archive-get", "--wal-segment-size", "1048576",
                                             "--repo", c.repo, "--until", "00000001000000000000000A", "--until-lsn",
                                             "0/A000060", "00000001000000000000000B", "pg_wal/RECOVERYXLOG"}));
}

TEST(ArchiveGetCallTest, PostgresqlAutoConfHoldsTheCommandAsRendered) {
  pgdr::test::TempDir t;
  RecoveryTarget target;
  ArchiveGetCall c = ordinary();
  c.repo = "o'brien \\ $x";
  target.archive_get = c;
  write_recovery_settings(t.path(), target, "20260101T000000Z");
  std::ifstream in(t.path() + "/postgresql.auto.conf");
  std::vector<std::string> commands;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("restore_command = ")) commands.push_back(line.substr(18));
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0], pg::setting_literal(c.render()));
  EXPECT_EQ(read_setting_literal(commands[0]), c.render());
}

TEST(ArchiveGetCallTest, NoCallNoRestoreCommand) {
  pgdr::test::TempDir t;
  write_recovery_settings(t.path(), RecoveryTarget{}, "20260101T000000Z");
  auto conf = read_file(t.path() + "/postgresql.auto.conf");
  ASSERT_TRUE(conf);
  EXPECT_EQ(std::string(conf->begin(), conf->end()).find("restore_command"), std::string::npos);
}

TEST(SettingLiteralTest, DoublesQuotesAndBackslashesAsAlterSystemDoes) {
  EXPECT_EQ(pg::setting_literal("plain"), "'plain'");
  EXPECT_EQ(pg::setting_literal("it's"), "'it''s'");
  EXPECT_EQ(pg::setting_literal("a\\b"), "'a\\\\b'");
  EXPECT_EQ(pg::setting_literal("'o'\\''k'"), "'''o''\\\\''''k'''");
  for (std::string v : {"", "x", "'", "\\", "'\\''", "a b $c `d`"}) EXPECT_EQ(read_setting_literal(pg::setting_literal(v)), v) << v;
}

}  // namespace
}  // namespace pgdr::restore
