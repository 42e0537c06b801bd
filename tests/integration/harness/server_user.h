// Who runs PostgreSQL in the tests. PostgreSQL refuses to run as root and CI runs as root, so then
// every server-side program (initdb, pg_ctl, psql, pgbench, pg_amcheck, and pgdr where a test says
// so) runs as the unprivileged user "postgres" through runuser, from "/" (the test's own working
// directory may be unreadable to that user). Run unprivileged, the current user is the server user.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/subprocess.h"

namespace pgdr::test {

bool running_as_root();
// "postgres" when running as root, otherwise the current user's name.
const std::string& server_user();
uid_t server_uid();
gid_t server_gid();

// argv wrapped so that it runs as the server user (unchanged when we are not root).
std::vector<std::string> as_server_user(const std::vector<std::string>& argv);
// run_process(as_server_user(argv), ...); extra_env reaches the program.
ProcessResult run_as_server_user(const std::vector<std::string>& argv, const std::string& stdin_data = {},
                                 const std::vector<std::string>& extra_env = {});

// Makes path, and everything under it, owned by the server user (no-op unless root). Throws Error(io).
void give_to_server_user(const std::string& path);

}  // namespace pgdr::test
