#include "core/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <utility>

#include "core/dir_handle.h"
#include "core/error.h"

namespace pgdr {

File open_spool() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = (tmp && *tmp) ? tmp : "/tmp";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("unable to create a temporary file in", dir, errno);
  return File::adopt(fd, dir + "/<spool>");
}

std::string parent_directory(const std::string& path) {
  std::size_t slash = path.find_last_not_of('/');
  if (slash == std::string::npos) return "/";
  slash = path.rfind('/', slash);
  if (slash == std::string::npos) return ".";
  std::size_t end = path.find_last_not_of('/', slash);
  return end == std::string::npos ? "/" : path.substr(0, end + 1);
}

std::string working_directory() {
  std::error_code ec;
  const auto p = std::filesystem::current_path(ec);
  return ec ? std::string() : p.string();
}

std::optional<std::vector<std::string>> list_directory(const std::string& dir) {
  std::optional<DirHandle> d = DirHandle::open(dir);
  if (!d) return std::nullopt;
  std::vector<std::string> names;
  while (const dirent* de = d->next()) names.emplace_back(de->d_name);
  return names;
}

namespace {

// Empties the directory open as fd (taken over: closed on return), which path names for messages.
// Works relative to descriptors so a symbolic link swapped in mid-walk is removed, not followed.
void remove_directory_contents(int fd, const std::string& path) {
  DirHandle dir = DirHandle::adopt(fd, path);
  while (const dirent* entry = dir.next()) {
    const std::string name = entry->d_name;
    const std::string child = path + "/" + name;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        throw_errno("unable to stat", child, errno);
      }
      is_dir = S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      int child_fd = ::openat(dir.fd(), name.c_str(),
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child_fd < 0) {
        if (errno == ENOENT) continue;
        throw_errno("unable to open directory", child, errno);
      }
      remove_directory_contents(child_fd, child);
    }
    if (::unlinkat(dir.fd(), name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT) {
      throw_errno("unable to remove", child, errno);
    }
  }
}

}  // namespace

File::File(File&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File File::open(const std::string& path, int flags, mode_t mode) {
  for (;;) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0) return File(fd, path);
    if (errno != EINTR) throw_errno("unable to open file", path, errno);
  }
}

std::optional<File> File::open_if_exists(const std::string& path, int flags) {
  for (;;) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd >= 0) return File(fd, path);
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    if (errno != EINTR) throw_errno("unable to open file", path, errno);
  }
}

void File::write_all(ByteView data) {
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("unable to write file", path_, errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::size_t File::read_at(void* buf, std::size_t n, std::uint64_t offset) const {
  auto* p = static_cast<std::uint8_t*>(buf);
  std::size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd_, p + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno("unable to read file", path_, errno);
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

Bytes File::read_all() const {
  // The size is a first guess: the loop still reads to end of file should the file have grown.
  Bytes out(static_cast<std::size_t>(size()) + 1);
  std::size_t have = 0;
  for (;;) {
    std::size_t got = read_at(out.data() + have, out.size() - have, have);
    have += got;
    if (have < out.size()) break;
    out.resize(out.size() * 2);
  }
  out.resize(have);
  return out;
}

void File::pwrite_all(ByteView data, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("unable to write file", path_, errno);
    }
    done += static_cast<std::size_t>(n);
  }
}

void File::sync() {
  if (::fdatasync(fd_) != 0) throw_errno("unable to sync file", path_, errno);
}

void File::truncate(std::uint64_t size_bytes) {
  while (::ftruncate(fd_, static_cast<off_t>(size_bytes)) != 0) {
    if (errno != EINTR) throw_errno("unable to truncate file", path_, errno);
  }
}

std::uint64_t File::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) throw_errno("unable to stat file", path_, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

void File::close() {
  if (fd_ < 0) return;
  int fd = std::exchange(fd_, -1);
  // Linux releases the descriptor even when close() fails with EINTR, so it must not be retried.
  if (::close(fd) != 0 && errno != EINTR) throw_errno("unable to close file", path_, errno);
}

void fsync_directory(const std::string& dir) {
  File d = File::open(dir, O_RDONLY | O_DIRECTORY);
  if (::fsync(d.fd()) != 0) throw_errno("unable to sync directory", dir, errno);
}

void make_directories(const std::string& path, mode_t mode) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw_errno("unable to create directory", path, ENOTDIR);
  }
  // Walk down from the top. stat() before mkdir() so that ancestors we may not write to (/, /srv)
  // are passed by instead of failing with EACCES.
  for (std::size_t end = 1; end <= path.size(); ++end) {
    if (end < path.size() && path[end] != '/') continue;
    if (path[end - 1] == '/') continue;
    const std::string dir = path.substr(0, end);
    if (::stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      throw_errno("unable to create directory", dir, ENOTDIR);
    }
    if (::mkdir(dir.c_str(), mode) == 0) {
      // The new entry is durable only once its parent directory is.
      fsync_directory(parent_directory(dir));
    } else if (errno == EEXIST) {
      // Created meanwhile by another thread or process; make sure it is a directory.
      if (::stat(dir.c_str(), &st) != 0) throw_errno("unable to stat directory", dir, errno);
      if (!S_ISDIR(st.st_mode)) throw_errno("unable to create directory", dir, ENOTDIR);
    } else {
      throw_errno("unable to create directory", dir, errno);
    }
  }
}

std::string temporary_path(const std::string& path) {
  std::uint8_t random[8];
  std::size_t have = 0;
  while (have < sizeof random) {
    ssize_t n = ::getrandom(random + have, sizeof random - have, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("unable to draw a random temporary name", path, errno);
    }
    have += static_cast<std::size_t>(n);
  }
  return path + ".tmp-" + to_hex(ByteView(random, sizeof random));
}

void write_file_durably(const std::string& path, ByteView data, mode_t mode) {
  const std::string tmp = temporary_path(path);
  try {
    File f = File::open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    f.write_all(data);
    // Data before rename: otherwise a crash can leave path renamed but empty (ext4 delalloc).
    f.sync();
    f.close();
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("unable to rename file into place", path, errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_directory(parent_directory(path));
}

std::optional<Bytes> read_file(const std::string& path) {
  std::optional<File> f = File::open_if_exists(path, O_RDONLY);
  if (!f) return std::nullopt;
  return f->read_all();
}

void remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw_errno("unable to stat", path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return;
      throw_errno("unable to open directory", path, errno);
    }
    remove_directory_contents(fd, path);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) throw_errno("unable to remove directory", path, errno);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw_errno("unable to remove", path, errno);
  }
}

}  // namespace pgdr
