#include "core/path.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/error.h"

namespace pgdr {

std::string normal_path(const std::string& path) {
  std::string full = path;
  if (full.empty() || full.front() != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) throw_errno("unable to read the working directory", ".", errno);
    full = std::string(cwd) + "/" + full;
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= full.size()) {
    std::size_t end = full.find('/', start);
    if (end == std::string::npos) end = full.size();
    std::string seg = full.substr(start, end - start);
    start = end + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(seg));
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string resolved_path(const std::string& path) {
  std::string existing = path;
  if (existing.empty() || existing.front() != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) throw_errno("unable to read the working directory", ".", errno);
    existing = std::string(cwd) + "/" + existing;
  }
  // Walk up until a prefix resolves; ".." in the missing part is folded lexically, as nothing
  // there can be a symbolic link yet.
  std::string rest;
  for (int links = 0;;) {
    char buf[PATH_MAX];
    if (realpath(existing.c_str(), buf)) return normal_path(std::string(buf) + rest);
    if (errno != ENOENT && errno != ENOTDIR) return normal_path(existing + rest);
    // A link to what does not exist yet (a repository before init, say) leads where it points.
    ssize_t n = readlink(existing.c_str(), buf, sizeof buf - 1);
    if (n > 0 && ++links <= 40) {
      std::string to(buf, static_cast<std::size_t>(n));
      existing = to.front() == '/' ? to : existing.substr(0, existing.rfind('/') + 1) + to;
      continue;
    }
    std::size_t slash = existing.find_last_not_of('/');
    if (slash == std::string::npos) return normal_path(existing + rest);
    slash = existing.rfind('/', slash);
    rest = existing.substr(slash) + rest;
    existing = slash == 0 ? "/" : existing.substr(0, slash);
  }
}

bool path_within(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

}  // namespace pgdr
