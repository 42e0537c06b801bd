// Small POSIX file helpers shared by the local storage driver and restore: an owning descriptor type
// and the durable-write recipes (temp file, fsync, rename, fsync directory) that keep a file either
// old or new after a crash. Every failure throws Error via throw_errno, naming the path.
//
// A File belongs to one thread at a time; the free functions may run concurrently on different paths.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.h"

namespace pgdr {

// An open file descriptor, closed when the File is destroyed. Move-only.
class File {
 public:
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  ~File();

  // open(2) with O_CLOEXEC added; mode applies when flags hold O_CREAT.
  static File open(const std::string& path, int flags, mode_t mode = 0600);
  // As open() without O_CREAT, but nullopt when path does not exist (ENOENT, or ENOTDIR: one of its
  // directories is a file, so it cannot exist either).
  static std::optional<File> open_if_exists(const std::string& path, int flags);
  // Takes ownership of an open descriptor (from openat, O_TMPFILE, ...); path is for messages.
  static File adopt(int fd, std::string path) { return File(fd, std::move(path)); }

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }

  // Writes all of data at the current offset, looping on short writes and EINTR.
  void write_all(ByteView data);
  // Reads up to n bytes at offset, looping until n bytes or end of file; returns the count read.
  std::size_t read_at(void* buf, std::size_t n, std::uint64_t offset) const;
  // Everything from offset 0 to end of file.
  Bytes read_all() const;
  void pwrite_all(ByteView data, std::uint64_t offset);
  // fdatasync(2): data and the metadata needed to read it back are on stable storage.
  void sync();
  void truncate(std::uint64_t size_bytes);
  std::uint64_t size() const;
  // Closes and reports a failure (some file systems report write errors only at close). The
  // destructor closes silently instead.
  void close();

 private:
  File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
};

// An unlinked temporary file (O_TMPFILE) in $TMPDIR (default /tmp), for data too large to keep in
// memory for the length of one command; it vanishes with its descriptor.
File open_spool();

// The directory holding path, as a path that can be opened: "." for a bare name, "/" at the top.
std::string parent_directory(const std::string& path);

// fsync(2) on a directory, making the entries created, renamed or removed in it durable.
void fsync_directory(const std::string& dir);

// mkdir -p: creates each missing directory of path with mode, fsyncing each parent in which it
// created an entry. Existing directories are left as they are; a non-directory in the way is an error.
void make_directories(const std::string& path, mode_t mode);

// A fresh name beside path for a temporary file: "<path>.tmp-<16 hex digits>". Code listing
// directories skips names containing ".tmp-".
std::string temporary_path(const std::string& path);

// Replaces path with data so that after a crash it holds either the old or the new content:
// writes a temporary file in the same directory, fsyncs it, renames it over path, fsyncs the directory.
// mode is applied as by open(2), so the umask still clears bits.
void write_file_durably(const std::string& path, ByteView data, mode_t mode);

// The whole file, or nullopt when it does not exist (as for File::open_if_exists).
std::optional<Bytes> read_file(const std::string& path);

// The current working directory ("" when it cannot be known). PostgreSQL runs archive_command and
// restore_command in the data directory of the cluster they serve.
std::string working_directory();

// The names in directory dir, without "." and "..", in no particular order; nullopt when it cannot
// be opened (missing, not a directory, not readable). Throws Error(io) when reading it fails midway.
std::optional<std::vector<std::string>> list_directory(const std::string& dir);

// rm -rf: removes path and everything below it. Missing is not an error; symbolic links are removed,
// never followed.
void remove_tree(const std::string& path);

}  // namespace pgdr
