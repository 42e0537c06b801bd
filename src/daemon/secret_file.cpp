#include "daemon/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <openssl/crypto.h>

#include "core/error.h"

namespace pgdr::daemon {

namespace {

// Closes on every path out, the error throws included.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string read_secret_file(const std::string& path, const std::string& setting) {
  // The mode is checked on the opened file, so that it is the file read that was checked.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
  if (f.fd < 0)
    throw Error(ErrorKind::config, "unable to read " + setting + " '" + path + "' (" + errno_text(errno) + ")");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    throw Error(ErrorKind::config, "unable to read " + setting + " '" + path + "' (" + errno_text(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::config, setting + " '" + path + "' is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw Error(ErrorKind::config,
                setting + " '" + path + "' is readable or writable by group or others (mode " + mode + ")",
                "chmod 600 " + path + ", owned by the user that runs pgdr daemon");
  }
  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size) + 1);  // no reallocation leaves a copy behind
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(ErrorKind::config, "unable to read " + setting + " '" + path + "' (" + errno_text(errno) + ")");
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    OPENSSL_cleanse(buf, sizeof buf);
    if (content.size() > 1024 * 1024) throw Error(ErrorKind::config, setting + " '" + path + "' is over 1 MiB");
  }
  return content;
}

}  // namespace pgdr::daemon
