// Running another program to completion and capturing what it prints: passphrase_command, helper
// tools, and the tests' PostgreSQL binaries. The child gets its own stdin (fed from a string), its
// stdout and stderr are captured whole, and nothing is left running when a call returns or throws.
// Safe to call from several threads at once: descriptors are close-on-exec and the child starts
// with default signal dispositions and an empty signal mask.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace pgdr {

struct ProcessResult {
  int exit_code = 0;  // the exit status, or 128 + signal number when a signal ended the child
  std::string out;    // everything written to stdout
  std::string err;    // everything written to stderr
  bool timed_out = false;  // RunLimits::timeout passed: the child and its process group were killed
};

// Bounds on a child that pgdr does not control (a secrets CLI, a user's check command).
struct RunLimits {
  // After this the child's whole process group is killed (SIGKILL) and timed_out set; 0: no bound.
  std::chrono::milliseconds timeout{0};
  // Stop reading stdout at its first newline: out holds that line (and the newline), and only the
  // child's own exit is then awaited, not the end of its output.
  bool first_line_only = false;
};

// Runs argv[0] (searched on PATH when it has no '/') with argv, feeding stdin_data on its stdin
// then closing it (a child that stops reading early is not an error). extra_env entries "K=V" are
// added to, or replace, this process's environment. Output is drained concurrently, so a child
// printing megabytes does not deadlock. Throws Error(io) when the program cannot be started (not
// found, not executable) and Error(internal) for an empty argv.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data = {},
                          const std::vector<std::string>& extra_env = {});

// The same with limits. The child leads a process group of its own, so that a timeout also ends
// what it started in the background. Once the child has exited, its output is read for at most a
// moment more: background processes that inherited its stdout cannot hold the caller.
ProcessResult run_limited(const std::vector<std::string>& argv, const RunLimits& limits,
                          const std::vector<std::string>& extra_env = {});

// Runs command with /bin/sh -c, stdin empty.
ProcessResult run_shell(const std::string& command);

}  // namespace pgdr
