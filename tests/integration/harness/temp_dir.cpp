#include "harness/temp_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "harness/server_user.h"

namespace pgdr::test {

TempDir::TempDir(std::string_view prefix) {
  std::string tmpl = "/tmp/";
  tmpl.append(prefix).append("-XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw_errno("unable to create temporary directory", tmpl, errno);
  path_ = buf.data();
  try {
    give_to_server_user(path_);
  } catch (...) {
    remove();
    throw;
  }
}

TempDir::~TempDir() { remove(); }

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

void TempDir::remove() noexcept {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);  // best effort: a destructor must not throw
  path_.clear();
}

std::string TempDir::file(std::string_view name) const {
  std::string p = path_;
  p.append("/").append(name);
  return p;
}

std::string TempDir::make_dir(std::string_view name, mode_t mode) const {
  const std::string p = file(name);
  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  if (ec) throw Error(ErrorKind::io, "unable to create directory: " + p + " (" + ec.message() + ")");
  if (::chmod(p.c_str(), mode) != 0) throw_errno("unable to change mode of", p, errno);
  give_to_server_user(p);
  return p;
}

std::string TempDir::write_file(std::string_view name, std::string_view content, mode_t mode) const {
  const std::string p = file(name);
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("unable to create file", p, errno);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw_errno("unable to write file", p, err);
    }
    done += static_cast<std::size_t>(n);
  }
  // The umask may have narrowed mode at open.
  const bool chmod_ok = ::fchmod(fd, mode) == 0;
  const int chmod_errno = errno;
  if (::close(fd) != 0) throw_errno("unable to close file", p, errno);
  if (!chmod_ok) throw_errno("unable to change mode of", p, chmod_errno);
  give_to_server_user(p);
  return p;
}

}  // namespace pgdr::test
