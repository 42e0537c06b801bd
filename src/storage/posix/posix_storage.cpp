#include "storage/posix/posix_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/dir_handle.h"
#include "core/error.h"
#include "core/file.h"
#include "storage/object_errors.h"

namespace pgdr::storage {

namespace {

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirectoryMode = 0700;
constexpr std::string_view kTempMarker = ".tmp-";

bool is_temporary(std::string_view name) { return name.find(kTempMarker) != std::string_view::npos; }

// Streams into a temporary file; commit() makes it durable and renames it over the final name.
// Writes go straight to the descriptor: callers already hand over large buffers (whole pack chunks).
class PosixWriter final : public Writer {
 public:
  PosixWriter(File file, std::string temp_path, std::string final_path, std::string directory)
      : file_(std::move(file)),
        temp_path_(std::move(temp_path)),
        final_path_(std::move(final_path)),
        directory_(std::move(directory)) {}

  PosixWriter(const PosixWriter&) = delete;
  PosixWriter& operator=(const PosixWriter&) = delete;

  ~PosixWriter() override {
    if (!renamed_) ::unlink(temp_path_.c_str());
  }

  void write(ByteView data) override {
    if (committed_) throw Error(ErrorKind::internal, "write after commit: " + final_path_);
    try {
      file_.write_all(data);
    } catch (...) {
      // Part of data may be in the file: committing it would publish a silently short object.
      failed_ = true;
      throw;
    }
    size_bytes_ += data.size();
  }

  void commit() override {
    if (committed_) throw Error(ErrorKind::internal, "commit called twice: " + final_path_);
    if (failed_) throw Error(ErrorKind::internal, "commit after a failed write: " + final_path_);
    committed_ = true;
    // Data must be on disk before the rename is, or a crash could expose a named but empty file.
    file_.sync();
    file_.close();
    if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
      throw_errno("unable to rename file into place", final_path_, errno);
    }
    renamed_ = true;
    fsync_directory(directory_);
  }

  std::uint64_t size_bytes() const override { return size_bytes_; }

 private:
  File file_;
  std::string temp_path_;
  std::string final_path_;
  std::string directory_;
  std::uint64_t size_bytes_ = 0;
  bool committed_ = false;
  bool failed_ = false;
  bool renamed_ = false;
};

// In-place writes into a committed file whose size was fixed when it was written: fdatasync then
// has no size or block allocation to record, only the data (one device flush per sync).
class PosixUpdater final : public Updater {
 public:
  PosixUpdater(File file, std::uint64_t size_bytes) : file_(std::move(file)), size_bytes_(size_bytes) {}

  void write_at(std::uint64_t offset, ByteView data) override {
    if (offset > size_bytes_ || data.size() > size_bytes_ - offset)
      throw Error(ErrorKind::internal, "in-place write past the end of " + file_.path());
    file_.pwrite_all(data, offset);
  }
  // Durable, and still where readers look: writes to a file that was since removed, or whose
  // directory was moved away (an unmounted or replaced repository), succeed on the open descriptor
  // but reach nobody, so they must not count as stored.
  void sync() override {
    file_.sync();
    struct stat open_st, path_st;
    if (::fstat(file_.fd(), &open_st) != 0) throw_errno("unable to stat file", file_.path(), errno);
    if (::lstat(file_.path().c_str(), &path_st) != 0 || open_st.st_ino != path_st.st_ino ||
        open_st.st_dev != path_st.st_dev)
      throw Error(ErrorKind::io, "unable to write " + file_.path() + " (it was moved or removed while being written)");
  }

 private:
  File file_;
  std::uint64_t size_bytes_;
};

// Whether the open file is a regular file; a directory at an object's name is not an object.
bool is_regular(const File& f) {
  struct stat st;
  if (::fstat(f.fd(), &st) != 0) throw_errno("unable to stat file", f.path(), errno);
  return S_ISREG(st.st_mode);
}

// Appends the regular files below the directory open as fd (taken over) to out, named prefix/...
void list_directory(int fd, const std::string& full, const std::string& prefix, std::vector<ObjectInfo>& out) {
  DirHandle dir = DirHandle::adopt(fd, full);
  while (const dirent* entry = dir.next()) {
    const std::string name = entry->d_name;
    if (is_temporary(name)) continue;
    const std::string child_full = full + "/" + name;
    const std::string child = prefix.empty() ? name : prefix + "/" + name;
    // lstat semantics: we never create symbolic links, and following one could leave the root or loop.
    struct stat st;
    if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since readdir
      throw_errno("unable to stat file", child_full, errno);
    }
    if (S_ISREG(st.st_mode)) {
      out.push_back(ObjectInfo{child, static_cast<std::uint64_t>(st.st_size)});
    } else if (S_ISDIR(st.st_mode)) {
      int child_fd = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child_fd < 0) {
        if (errno == ENOENT) continue;
        throw_errno("unable to open directory", child_full, errno);
      }
      list_directory(child_fd, child_full, child, out);
    }
  }
}

}  // namespace

PosixStorage::PosixStorage(std::string root) : root_(std::move(root)) {
  if (root_.empty()) throw Error(ErrorKind::config, "local storage root is empty");
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

void PosixStorage::create_root(const std::string& root) { make_directories(root, kDirectoryMode); }

std::string PosixStorage::describe() const { return "local directory " + root_; }

Capabilities PosixStorage::capabilities() const {
  Capabilities caps;
  caps.atomic_exclusive_create = true;  // link(2) fails with EEXIST, even over NFS
  caps.local = true;
  caps.update_in_place = true;
  return caps;
}

void PosixStorage::check_path(std::string_view path) {
  check_object_path(path);
  if (is_temporary(path)) {
    throw Error(ErrorKind::corrupt, "refusing object name '" + std::string(path) + "' (" +
                                        std::string(kTempMarker) + " marks temporary files)");
  }
}

std::string PosixStorage::full_path(std::string_view path) const {
  std::string full = root_;
  if (full != "/") full += '/';
  full += path;
  return full;
}

std::string PosixStorage::parent_of(std::string_view path) const {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? root_ : full_path(path.substr(0, slash));
}

std::string PosixStorage::make_parent(std::string_view path) const {
  std::string dir = parent_of(path);
  if (dir == root_) return dir;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  if (::stat(root_.c_str(), &st) != 0) throw_errno("unable to find storage root", root_, errno);
  make_directories(dir, kDirectoryMode);
  return dir;
}

std::optional<Bytes> PosixStorage::read(std::string_view path) const {
  check_path(path);
  std::optional<File> f = File::open_if_exists(full_path(path), O_RDONLY);
  if (!f || !is_regular(*f)) return std::nullopt;
  return f->read_all();
}

std::optional<Bytes> PosixStorage::read_range(std::string_view path, std::uint64_t offset,
                                              std::uint64_t length) const {
  check_path(path);
  std::optional<File> f = File::open_if_exists(full_path(path), O_RDONLY);
  if (!f || !is_regular(*f)) return std::nullopt;
  const std::uint64_t wanted = length > std::numeric_limits<std::uint64_t>::max() - offset
                                   ? std::numeric_limits<std::uint64_t>::max()
                                   : offset + length;
  // Check the size before allocating: a damaged index may ask for an absurd length.
  const std::uint64_t size = f->size();
  if (wanted > size) throw object_truncated(*this, path, size, wanted);
  Bytes out(length);
  std::size_t got = f->read_at(out.data(), out.size(), offset);
  if (got < length) throw object_truncated(*this, path, offset + got, wanted);
  return out;
}

std::unique_ptr<Writer> PosixStorage::create(std::string_view path) {
  check_path(path);
  std::string dir = make_parent(path);
  std::string final_path = full_path(path);
  std::string temp_path = temporary_path(final_path);
  File f = File::open(temp_path, O_WRONLY | O_CREAT | O_EXCL, kFileMode);
  return std::make_unique<PosixWriter>(std::move(f), std::move(temp_path), std::move(final_path), std::move(dir));
}

std::unique_ptr<Updater> PosixStorage::open_update(std::string_view path) {
  check_path(path);
  std::optional<File> f = File::open_if_exists(full_path(path), O_WRONLY | O_NOFOLLOW);
  if (!f || !is_regular(*f)) throw Error(ErrorKind::not_found, "object " + std::string(path) + " not found in " + describe());
  std::uint64_t size = f->size();
  return std::make_unique<PosixUpdater>(std::move(*f), size);
}

bool PosixStorage::create_exclusive(std::string_view path, ByteView data) {
  check_path(path);
  std::string dir = make_parent(path);
  std::string final_path = full_path(path);
  std::string temp_path = temporary_path(final_path);
  bool linked = false;
  try {
    File f = File::open(temp_path, O_WRONLY | O_CREAT | O_EXCL, kFileMode);
    f.write_all(data);
    f.sync();
    f.close();
    // link(2), unlike rename(2), refuses to replace an existing name: the whole object appears at
    // once or not at all, and only one of several racing writers wins.
    if (::link(temp_path.c_str(), final_path.c_str()) == 0) {
      linked = true;
    } else if (errno != EEXIST) {
      throw_errno("unable to link file into place", final_path, errno);
    }
  } catch (...) {
    ::unlink(temp_path.c_str());
    throw;
  }
  ::unlink(temp_path.c_str());
  if (linked) fsync_directory(dir);
  return linked;
}

std::optional<ObjectInfo> PosixStorage::stat(std::string_view path) const {
  check_path(path);
  const std::string full = full_path(path);
  struct stat st;
  if (::stat(full.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw_errno("unable to stat file", full, errno);
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return ObjectInfo{std::string(path), static_cast<std::uint64_t>(st.st_size)};
}

std::vector<ObjectInfo> PosixStorage::list(std::string_view prefix) const {
  if (!prefix.empty()) check_path(prefix);
  const std::string full = prefix.empty() ? root_ : full_path(prefix);
  std::vector<ObjectInfo> out;
  int fd = ::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return out;
    throw_errno("unable to open directory", full, errno);
  }
  list_directory(fd, full, std::string(prefix), out);
  return out;
}

void PosixStorage::remove(std::string_view path) {
  check_path(path);
  const std::string full = full_path(path);
  if (::unlink(full.c_str()) != 0) {
    // Nothing of that name is an object (a directory is not one either): nothing to remove.
    if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return;
    throw_errno("unable to remove file", full, errno);
  }
  // Durable on return, as an object store's acknowledged delete is, so a removed lock stays removed.
  fsync_directory(parent_of(path));
}

}  // namespace pgdr::storage
