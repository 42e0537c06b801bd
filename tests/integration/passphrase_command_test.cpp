// passphrase_command as archive_command and restore_command meet it: a secrets tool that hangs is
// killed after [key] command_timeout with one line, and one that leaves an agent holding its
// output does not hold pgdr.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "harness/pgdr_runner.h"
#include "harness/temp_dir.h"

namespace pgdr::test {
namespace {

using Clock = std::chrono::steady_clock;

class PassphraseCommandTest : public ::testing::Test {
 protected:
  std::string config(const std::string& command, const std::string& extra = "") {
    return dir_.write_file("pgdr-" + std::to_string(++configs_) + ".toml",
                           "[[repo]]\nname = \"local\"\npath = \"" + dir_.file("repo") +
                               "\"\n[key]\npassphrase_command = \"" + command + "\"\n" + extra,
                           0600);
  }
  TempDir dir_{"pgdr-passcmd"};
  int configs_ = 0;
};

TEST_F(PassphraseCommandTest, AnAgentHoldingTheOutputDoesNotHoldPgdr) {
  // The command prints the passphrase and leaves a process that inherited its stdout.
  const std::string agent = config("echo pass-from-tool; sleep 60 &");
  auto t0 = Clock::now();
  PgdrResult init = run_pgdr({"--config", agent, "init"}, {}, false);
  ASSERT_EQ(init.exit_code, 0) << init.err;
  PgdrResult info = run_pgdr({"--config", agent, "info"}, {}, false);
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(20)) << "each command waited for the agent";
}

TEST_F(PassphraseCommandTest, AHungToolIsKilledAfterTheTimeoutWithOneLine) {
  ASSERT_EQ(run_pgdr({"--config", config("echo pass-from-tool"), "init"}, {}, false).exit_code, 0);
  const std::string hung = config("sleep 60 & sleep 60", "command_timeout = \"2s\"\n");
  auto t0 = Clock::now();
  PgdrResult r = run_pgdr({"--config", hung, "info"}, {}, false);
  const auto took = Clock::now() - t0;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')),
            "pgdr: passphrase_command did not print a line and exit within 2s (killed)");
  EXPECT_NE(r.err.find("HINT: check the secrets tool by hand"), std::string::npos) << r.err;
  EXPECT_GE(took, std::chrono::seconds(2));
  EXPECT_LT(took, std::chrono::seconds(15));
}

}  // namespace
}  // namespace pgdr::test
