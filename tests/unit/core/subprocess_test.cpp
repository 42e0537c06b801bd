#include "core/subprocess.h"

#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "core/error.h"

namespace pgdr {
namespace {

TEST(Subprocess, CapturesOutputAndExitCode) {
  const ProcessResult r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 0 + 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(Subprocess, PassesArgumentsVerbatim) {
  const ProcessResult r = run_process({"printf", "%s|", "a b", "'q'", "$HOME", ""});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "a b|'q'|$HOME||");
}

TEST(Subprocess, FeedsStdin) {
  const ProcessResult r = run_process({"cat"}, "line one\nline two\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "line one\nline two\n");
  EXPECT_EQ(run_process({"cat"}).out, "");
}

TEST(Subprocess, LargeOutputOnBothStreamsDoesNotDeadlock) {
  // 4 MiB in, 4 MiB out and 1 MiB on stderr: far beyond any pipe buffer.
  std::string input(4u << 20, 'x');
  for (std::size_t i = 0; i < input.size(); i += 4096) input[i] = static_cast<char>('a' + (i / 4096) % 26);
  const ProcessResult r =
      run_process({"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' e >&2; cat"}, input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(r.err, std::string(1u << 20, 'e'));
}

TEST(Subprocess, ChildThatIgnoresStdinIsNotAnError) {
  const ProcessResult r = run_process({"true"}, std::string(8u << 20, 'x'));
  EXPECT_EQ(r.exit_code, 0);
  // And we are still alive: SIGPIPE did not reach us.
  EXPECT_EQ(run_process({"sh", "-c", "exit 0"}, std::string(1u << 20, 'y')).exit_code, 0);
}

TEST(Subprocess, ReportsDeathBySignal) {
  EXPECT_EQ(run_process({"sh", "-c", "kill -KILL $$"}).exit_code, 128 + SIGKILL);
  EXPECT_EQ(run_process({"sh", "-c", "kill -TERM $$"}).exit_code, 128 + SIGTERM);
}

TEST(Subprocess, AddsAndReplacesEnvironment) {
  ::setenv("PGDR_SUBPROCESS_TEST", "parent", 1);
  EXPECT_EQ(run_shell("printf %s \"$PGDR_SUBPROCESS_TEST\"").out, "parent");
  const ProcessResult r = run_process({"sh", "-c", "printf '%s,%s' \"$PGDR_SUBPROCESS_TEST\" \"$PGDR_EXTRA\""}, {},
                                      {"PGDR_SUBPROCESS_TEST=child", "PGDR_EXTRA=a=b"});
  EXPECT_EQ(r.out, "child,a=b");
  ::unsetenv("PGDR_SUBPROCESS_TEST");
  EXPECT_THROW(run_process({"true"}, {}, {"NOEQUALS"}), Error);
}

TEST(Subprocess, FailsToStartWithIoError) {
  try {
    run_process({"/nonexistent/pgdr-no-such-program", "x"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/pgdr-no-such-program"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_process({"pgdr-no-such-program-on-path"}), Error);
  EXPECT_THROW(run_process({}), Error);
}

TEST(Subprocess, RunShell) {
  const ProcessResult r = run_shell("echo $((6 * 7)) && echo warn >&2 && exit 5");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.out, "42\n");
  EXPECT_EQ(r.err, "warn\n");
  EXPECT_EQ(run_shell("exit 127").exit_code, 127);
}

TEST(Subprocess, ChildDoesNotInheritOurIgnoredSigpipe) {
  const auto old = std::signal(SIGPIPE, SIG_IGN);
  // A shell cannot undo an ignored signal it inherited: with SIG_IGN passed on it would survive.
  const ProcessResult r = run_shell("kill -PIPE $$; exit 0");
  std::signal(SIGPIPE, old);
  EXPECT_EQ(r.exit_code, 128 + SIGPIPE);
}

}  // namespace
}  // namespace pgdr
