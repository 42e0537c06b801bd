#include "core/log_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace pgdr {

LogFile LogFile::open(const std::string& path) {
  // The mode applies only when the file is created; an existing file keeps the mode its owner gave it.
  return LogFile(File::open(path, O_WRONLY | O_APPEND | O_CREAT, 0600));
}

std::string LogFile::append(std::string_view line) {
  for (;;) {
    const ssize_t n = ::write(file_.fd(), line.data(), line.size());
    if (n == static_cast<ssize_t>(line.size())) return "";
    if (n >= 0) return "short write (" + std::to_string(n) + " of " + std::to_string(line.size()) + " bytes)";
    // Nothing was written when a signal interrupted the call: trying again cannot split the line.
    if (errno == EINTR) continue;
    return errno_text(errno);
  }
}

}  // namespace pgdr
