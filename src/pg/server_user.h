// Who runs the PostgreSQL servers pgdr starts itself (restore tests, drills, the demo). PostgreSQL
// refuses to run as root: when pgdr runs as root those servers run as an unprivileged user
// (default "postgres"), through runuser; otherwise as the current user.
// The functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/subprocess.h"

namespace pgdr::pg {

struct ServerUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;  // true when pgdr runs as root and must switch to this user
};

// The user that runs servers: `name` when pgdr runs as root ("" means "postgres"), the current
// user otherwise. Throws Error(config) when that user does not exist.
ServerUser server_user(const std::string& name = "");

// argv wrapped to run as user (unchanged unless switch_user), from "/" so that a working directory
// the user cannot enter (such as /root) does not trouble the program.
std::vector<std::string> as_user(const ServerUser& user, const std::vector<std::string>& argv);

// Makes path and everything under it owned by user (no-op unless switch_user). Throws Error(io).
void give_to(const ServerUser& user, const std::string& path);

}  // namespace pgdr::pg
