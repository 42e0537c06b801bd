// Runs the pgdr binary under test. The build tree may sit where the server user cannot reach (under
// /root, say), yet PostgreSQL runs pgdr as that user from archive_command and restore_command; so
// the first use copies the built binary (PGDR_BINARY) to a world-readable temporary directory and
// everything, tests and clusters alike, runs that copy. The copy is removed at exit.
// Safe to call from several threads.
#pragma once

#include <string>
#include <vector>

#include "core/subprocess.h"

namespace pgdr::test {

using PgdrResult = ProcessResult;

// Absolute path of the runnable copy, for archive_command = '<pgdr_path()> --config ... %p'.
const std::string& pgdr_path();

// Runs pgdr with args; env entries "K=V" are added to the environment. as_server_user runs it as
// the server user when we are root (as the current user otherwise); as that user it runs from "/",
// so pass absolute paths.
PgdrResult run_pgdr(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                    bool as_server_user = true);

}  // namespace pgdr::test
