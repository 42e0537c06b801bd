// The pgdr binary given a mistyped command or option: one line naming what was not understood and
// the nearest known word, a HINT, exit 2, and nothing run.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/pgdr_runner.h"

namespace pgdr::test {
namespace {

const std::string kHint = "HINT: run 'pgdr --help' or 'pgdr COMMAND --help'\n";

void expect_usage_error(const std::vector<std::string>& args, const std::string& line) {
  PgdrResult r = run_pgdr(args, {}, false);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "pgdr: " + line + "\n" + kHint);
  EXPECT_EQ(r.out, "");
}

TEST(CliUsageTest, UnknownCommandsNameTheNearestCommand) {
  expect_usage_error({"bakup"}, "unknown command 'bakup' (did you mean 'backup'?)");
  expect_usage_error({"--config", "/nonexistent.toml", "resotre"}, "unknown command 'resotre' (did you mean 'restore'?)");
  expect_usage_error({"frobnicate"}, "unknown command 'frobnicate'");
  expect_usage_error({"key", "chnge"}, "unknown command 'key chnge' (did you mean 'key change'?)");
}

TEST(CliUsageTest, UnknownOptionsNameTheNearestOptionOfTheirCommand) {
  expect_usage_error({"restore", "--tagret-dir", "/tmp/x"},
                     "unknown option '--tagret-dir' for 'restore' (did you mean '--target-dir'?)");
  expect_usage_error({"info", "--jsn"}, "unknown option '--jsn' for 'info' (did you mean '--json'?)");
  expect_usage_error({"info", "--zzz"}, "unknown option '--zzz' for 'info'");
}

TEST(CliUsageTest, MissingCommandListsTheCommands) {
  PgdrResult r = run_pgdr({}, {}, false);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("pgdr: no command given (one of: init, backup, restore, ", 0), 0u) << r.err;
  expect_usage_error({"key"}, "'key' needs a command: change, list");
}

}  // namespace
}  // namespace pgdr::test
