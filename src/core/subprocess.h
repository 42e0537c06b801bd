// Running another program to completion and capturing what it prints: passphrase_command, helper
// tools, and the tests' PostgreSQL binaries. The child gets its own stdin (fed from a string), its
// stdout and stderr are captured whole, and nothing is left running when a call returns or throws.
// Safe to call from several threads at once: descriptors are close-on-exec and the child starts
// with default signal dispositions and an empty signal mask.
#pragma once

#include <string>
#include <vector>

namespace pgdr {

struct ProcessResult {
  int exit_code = 0;  // the exit status, or 128 + signal number when a signal ended the child
  std::string out;    // everything written to stdout
  std::string err;    // everything written to stderr
};

// Runs argv[0] (searched on PATH when it has no '/') with argv, feeding stdin_data on its stdin
// then closing it (a child that stops reading early is not an error). extra_env entries "K=V" are
// added to, or replace, this process's environment. Output is drained concurrently, so a child
// printing megabytes does not deadlock. Throws Error(io) when the program cannot be started (not
// found, not executable) and Error(internal) for an empty argv.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data = {},
                          const std::vector<std::string>& extra_env = {});

// Runs command with /bin/sh -c, stdin empty.
ProcessResult run_shell(const std::string& command);

}  // namespace pgdr
