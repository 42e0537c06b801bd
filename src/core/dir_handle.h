// An open directory stream (DIR*), closed when destroyed: how pgdr lists a directory, by path or
// relative to an open descriptor (the *at calls that keep a walk from following a symbolic link
// swapped in mid-walk). Move-only; one thread at a time.
#pragma once

#include <dirent.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace pgdr {

class DirHandle {
 public:
  // opendir(3); nullopt when dir cannot be opened (missing, not a directory, not readable).
  static std::optional<DirHandle> open(const std::string& dir);
  // fdopendir(3) on fd, an open directory descriptor the handle takes over: it is closed with the
  // handle, or at once when fdopendir fails. path names the directory in messages. Throws Error.
  static DirHandle adopt(int fd, std::string path);

  // The next entry but "." and "..", nullptr after the last one. The entry is valid until the next
  // call. Throws Error(io) naming the directory when reading fails.
  const dirent* next();

  // The stream's descriptor (dirfd(3)), for fstatat, openat and unlinkat relative to it.
  int fd() const;
  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  DirHandle(DIR* dir, std::string path) : dir_(dir), path_(std::move(path)) {}

  std::unique_ptr<DIR, Closer> dir_;
  std::string path_;
};

}  // namespace pgdr
