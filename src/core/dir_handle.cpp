#include "core/dir_handle.h"

#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace pgdr {

std::optional<DirHandle> DirHandle::open(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  return DirHandle(d, dir);
}

DirHandle DirHandle::adopt(int fd, std::string path) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    ::close(fd);
    throw_errno("unable to read directory", path, err);
  }
  return DirHandle(d, std::move(path));
}

const dirent* DirHandle::next() {
  for (;;) {
    // readdir(3) returns null both at the end and on an error; only errno tells them apart.
    errno = 0;
    const dirent* entry = ::readdir(dir_.get());
    if (entry == nullptr) {
      if (errno != 0) throw_errno("unable to read directory", path_, errno);
      return nullptr;
    }
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") return entry;
  }
}

int DirHandle::fd() const { return ::dirfd(dir_.get()); }

}  // namespace pgdr
