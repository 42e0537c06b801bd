#include "core/shell.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace pgdr {

std::string shell_quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string self_executable() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) throw Error(ErrorKind::internal, "unable to find the pgdr binary's path");
  exe[n] = '\0';
  return exe;
}

std::string absolute_config_path(const std::string& config_path) {
  char resolved[PATH_MAX];
  if (!::realpath(config_path.c_str(), resolved)) throw_errno("unable to resolve", config_path, errno);
  return resolved;
}

std::string pgdr_invocation(const std::string& binary, const std::string& config_path) {
  return shell_quoted(binary) + " --config " + shell_quoted(config_path);
}

std::string pgdr_invocation(const std::string& config_path) {
  return pgdr_invocation(self_executable(), absolute_config_path(config_path));
}

}  // namespace pgdr
