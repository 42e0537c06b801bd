#include "core/error.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace pgdr {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage: return "usage";
    case ErrorKind::config: return "config";
    case ErrorKind::io: return "io";
    case ErrorKind::not_found: return "not-found";
    case ErrorKind::corrupt: return "corrupt";
    case ErrorKind::crypto: return "crypto";
    case ErrorKind::postgres: return "postgres";
    case ErrorKind::network: return "network";
    case ErrorKind::locked: return "locked";
    case ErrorKind::interrupted: return "interrupted";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

std::string errno_text(int errnum) {
  char buf[256];
  // GNU strerror_r returns the message, which may not be in buf.
  return strerror_r(errnum, buf, sizeof buf);
}

void throw_errno(std::string_view what, std::string_view path, int errnum) {
  std::string msg;
  msg.append(what).append(": ").append(path).append(" (").append(errno_text(errnum)).append(")");
  std::string hint;
  if (errnum == ENOSPC) hint = "the file system is full: free space or point the repository elsewhere";
  throw Error(errnum == ENOENT ? ErrorKind::not_found : ErrorKind::io, std::move(msg), std::move(hint));
}

int action_exit_code(ErrorKind kind) {
  return (kind == ErrorKind::usage || kind == ErrorKind::config) ? 2 : 1;
}

}  // namespace pgdr
