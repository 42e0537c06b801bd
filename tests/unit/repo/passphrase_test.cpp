#include "repo/passphrase.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <string>

#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::contains;
using test::error_of;

const std::string kVar = "PGDR_UNIT_TEST_PASSPHRASE";
const std::string kSecret = "s3cret-Passphrase-7f1c";

constexpr std::chrono::milliseconds kTimeout{30000};

Passphrase from(const std::string& env_name, const std::string& command) {
  return read_passphrase_from(env_name, command, "passphrase_command", kTimeout);
}

// Sets (or unsets, for nullptr) the test's variable for one test and restores "unset" after it.
class PassphraseTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv(kVar.c_str()); }
  void TearDown() override { ::unsetenv(kVar.c_str()); }
  void set(const std::string& value) { ASSERT_EQ(::setenv(kVar.c_str(), value.c_str(), 1), 0); }

  // The error, checked never to carry the secret in its message or hint.
  template <typename F>
  Error leak_free_error(F&& f) {
    Error e = error_of(std::forward<F>(f));
    EXPECT_FALSE(contains(e.what(), kSecret)) << e.what();
    EXPECT_FALSE(contains(e.hint(), kSecret)) << e.hint();
    return e;
  }
};

TEST_F(PassphraseTest, FromEnvironment) {
  set(kSecret);
  Passphrase p = from(kVar, "");
  EXPECT_EQ(p.view(), kSecret);
  EXPECT_EQ(p.source, "$" + kVar);

  // Taken as is: spaces and a newline are part of a passphrase set in the environment.
  set(" two words\n");
  EXPECT_EQ(from(kVar, "").view(), " two words\n");
}

TEST_F(PassphraseTest, UnsetOrEmptyVariableIsAConfigError) {
  for (bool empty : {false, true}) {
    SCOPED_TRACE(empty ? "empty" : "unset");
    if (empty) set("");
    Error e = error_of([] { from(kVar, ""); });
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_EQ(std::string(e.what()), "passphrase variable " + kVar + " is not set or empty");
    EXPECT_EQ(e.hint(), "export it in the environment that runs pgdr (archive_command runs as the server user)");
  }
}

TEST_F(PassphraseTest, EnvironmentWinsOverCommand) {
  set(kSecret);
  Passphrase p = from(kVar, "echo from-command");
  EXPECT_EQ(p.view(), kSecret);
  EXPECT_EQ(p.source, "$" + kVar);
}

TEST_F(PassphraseTest, FromCommand) {
  Passphrase p = from("", "echo " + kSecret);
  EXPECT_EQ(p.view(), kSecret);
  EXPECT_EQ(p.source, "passphrase_command");

  // The first line only, without a CR of a CRLF ending; no newline at all is fine.
  EXPECT_EQ(from("", "printf 'first line\\r\\nsecond line\\n'").view(), "first line");
  EXPECT_EQ(from("", "printf 'no newline'").view(), "no newline");
  // What the command prints on stderr is not the passphrase.
  EXPECT_EQ(from("", "echo noise >&2; echo " + kSecret).view(), kSecret);
}

TEST_F(PassphraseTest, FailingCommandIsAConfigErrorNamingTheExitCodeNotTheOutput) {
  Error e = leak_free_error([] { from("", "echo " + kSecret + "; echo " + kSecret + " >&2; exit 3"); });
  EXPECT_EQ(e.kind(), ErrorKind::config);
  EXPECT_EQ(std::string(e.what()), "passphrase_command failed with exit code 3");
  EXPECT_TRUE(contains(e.what(), "exit code 3"));

  Error missing = leak_free_error([] { from("", "/nonexistent/kms-cli --get " + kSecret); });
  EXPECT_EQ(missing.kind(), ErrorKind::config);
  EXPECT_EQ(std::string(missing.what()), "passphrase_command failed with exit code 127");
}

TEST_F(PassphraseTest, CommandPrintingNothingIsAConfigError) {
  for (const std::string& command : {std::string("true"), "printf '\\n" + kSecret + "\\n'", "echo " + kSecret + " >&2"}) {
    SCOPED_TRACE(command);
    Error e = leak_free_error([&] { from("", command); });
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_EQ(std::string(e.what()), "passphrase_command printed no passphrase");
  }
}

TEST_F(PassphraseTest, HungCommandIsKilledAfterTheTimeoutWithItsChildren) {
  const auto t0 = std::chrono::steady_clock::now();
  Error e = leak_free_error([] {
    read_passphrase_from("", "sleep 60 & sleep 60", "passphrase_command", std::chrono::milliseconds(300));
  });
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(e.kind(), ErrorKind::config);
  EXPECT_EQ(std::string(e.what()), "passphrase_command did not print a line and exit within 300ms (killed)");
  EXPECT_TRUE(contains(e.hint(), "[key] command_timeout"));
  EXPECT_LT(took, std::chrono::seconds(5));
  // A line printed and then no exit is a hang too, and the line (the passphrase) is not shown.
  Error after_line = leak_free_error([] {
    read_passphrase_from("", "echo " + kSecret + "; sleep 60", "passphrase_command", std::chrono::milliseconds(300));
  });
  EXPECT_TRUE(contains(after_line.what(), "did not print a line and exit within 300ms"));
}

TEST_F(PassphraseTest, BackgroundChildrenHoldingStdoutDoNotHoldTheCaller) {
  // A secrets CLI that starts an agent which inherits its stdout and outlives it.
  const auto t0 = std::chrono::steady_clock::now();
  Passphrase p = read_passphrase_from("", "echo " + kSecret + "; sleep 30 &", "passphrase_command",
                                      std::chrono::seconds(20));
  EXPECT_EQ(p.view(), kSecret);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // The same without a newline: the output ends with the command, not with the agent.
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(read_passphrase_from("", "printf " + kSecret + "; sleep 30 &", "passphrase_command",
                                 std::chrono::seconds(20))
                .view(),
            kSecret);
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(5));
}

TEST_F(PassphraseTest, NoSourceIsAConfigError) {
  Error e = error_of([] { from("", ""); });
  EXPECT_EQ(e.kind(), ErrorKind::config);
  EXPECT_EQ(std::string(e.what()), "no passphrase source: [key] needs passphrase_env or passphrase_command");
}

TEST_F(PassphraseTest, ReadsTheSourceNamedInTheKeySection) {
  KeyConfig key;
  key.passphrase_env = kVar;
  set(kSecret);
  EXPECT_EQ(read_passphrase(key).view(), kSecret);

  KeyConfig command;
  command.passphrase_command = "echo " + kSecret;
  EXPECT_EQ(read_passphrase(command).source, "passphrase_command");
  EXPECT_EQ(read_passphrase(command).view(), kSecret);

  Error e = error_of([] { read_passphrase(KeyConfig{}); });
  EXPECT_EQ(e.kind(), ErrorKind::config);
}

}  // namespace
}  // namespace pgdr::repo
