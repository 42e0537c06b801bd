#include "pg/server_user.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace pgdr::pg {

ServerUser server_user(const std::string& name) {
  const bool root = ::geteuid() == 0;
  const std::string wanted = name.empty() ? "postgres" : name;
  // getpwnam_r: drills run their checks on threads, and getpwnam's static buffer is shared.
  passwd pw{};
  passwd* found = nullptr;
  std::string buf(16384, '\0');
  int rc = root ? ::getpwnam_r(wanted.c_str(), &pw, buf.data(), buf.size(), &found)
                : ::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    if (root)
      throw Error(ErrorKind::config, "user '" + wanted + "' does not exist",
                  "PostgreSQL refuses to run as root: pgdr starts its servers as this user (the postgresql "
                  "package creates 'postgres')");
    throw Error(ErrorKind::config, "unable to look up the current user");
  }
  return ServerUser{pw.pw_name, pw.pw_uid, pw.pw_gid, root};
}

std::vector<std::string> as_user(const ServerUser& user, const std::vector<std::string>& argv) {
  if (!user.switch_user) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", user.name, "--", "env", "-C", "/"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

void give_to(const ServerUser& user, const std::string& path) {
  if (!user.switch_user) return;
  const auto own = [&](const std::string& p) {
    if (::lchown(p.c_str(), user.uid, user.gid) != 0) throw_errno("unable to change owner of", p, errno);
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

}  // namespace pgdr::pg
