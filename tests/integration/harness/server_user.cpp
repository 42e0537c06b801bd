#include "harness/server_user.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "core/error.h"

namespace pgdr::test {
namespace {

struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

const Identity& identity() {
  static const Identity id = [] {
    const passwd* pw = running_as_root() ? ::getpwnam("postgres") : ::getpwuid(::geteuid());
    if (pw == nullptr) {
      throw Error(ErrorKind::config, running_as_root() ? "user 'postgres' does not exist"
                                                       : "unable to look up the current user",
                  "tests run as root start PostgreSQL as user 'postgres': create it (the postgresql package does)");
    }
    return Identity{pw->pw_name, pw->pw_uid, pw->pw_gid};
  }();
  return id;
}

}  // namespace

bool running_as_root() { return ::geteuid() == 0; }
const std::string& server_user() { return identity().name; }
uid_t server_uid() { return identity().uid; }
gid_t server_gid() { return identity().gid; }

std::vector<std::string> as_server_user(const std::vector<std::string>& argv) {
  if (!running_as_root()) return argv;
  // env -C /: psql, pg_ctl and friends complain about (or fail on) a working directory they
  // cannot enter, such as /root.
  std::vector<std::string> wrapped = {"runuser", "-u", server_user(), "--", "env", "-C", "/"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

ProcessResult run_as_server_user(const std::vector<std::string>& argv, const std::string& stdin_data,
                                 const std::vector<std::string>& extra_env) {
  return run_process(as_server_user(argv), stdin_data, extra_env);
}

void give_to_server_user(const std::string& path) {
  if (!running_as_root()) return;
  const auto own = [](const std::string& p) {
    if (::lchown(p.c_str(), server_uid(), server_gid()) != 0) throw_errno("unable to change owner of", p, errno);
  };
  own(path);
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) return;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    own(it->path().string());
  }
  if (ec) throw Error(ErrorKind::io, "unable to walk " + path + " (" + ec.message() + ")");
}

}  // namespace pgdr::test
