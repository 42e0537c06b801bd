// A temporary directory for one test: created under /tmp (short paths, as unix socket names must be
// under 108 bytes), owned by the server user when we run as root so PostgreSQL and pgdr running as
// that user can use it, and removed with everything in it when the TempDir is destroyed, also when
// the test fails. Move-only; one owner.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace pgdr::test {

class TempDir {
 public:
  // mkdtemp("/tmp/<prefix>-XXXXXX"); throws Error(io).
  explicit TempDir(std::string_view prefix = "pgdr-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;

  const std::string& path() const { return path_; }
  // path() + "/" + name; touches nothing.
  std::string file(std::string_view name) const;
  // Creates path()/name (and missing parents) owned by the server user; returns its path.
  std::string make_dir(std::string_view name, mode_t mode = 0700) const;
  // Writes path()/name whole, owned by the server user; returns its path.
  std::string write_file(std::string_view name, std::string_view content, mode_t mode = 0644) const;

 private:
  void remove() noexcept;
  std::string path_;
};

}  // namespace pgdr::test
