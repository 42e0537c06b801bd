// The log file of `[log] file`: opened for appending, created with mode 0600 (lines may name
// paths, repositories and hosts a DBA keeps to themselves). Several pgdr processes append to one
// file at once (PostgreSQL runs archive-push for each segment, with --parallel even overlapping):
// each line is one write(2) on an O_APPEND descriptor, which the kernel places at the end of the
// file whole, so lines of two processes never interleave within a line. Owned by the log module;
// one thread writes at a time (log.cpp holds its lock).
#pragma once

#include <string>
#include <string_view>

#include "core/file.h"

namespace pgdr {

class LogFile {
 public:
  // Opens or creates path; throws Error(io) naming it.
  static LogFile open(const std::string& path);

  // Writes line (which ends in a newline) in one write(2); a short or failed write is not retried,
  // since a second write of the rest could land after another process's line. Returns "" on
  // success, else why it failed ("No space left on device", "short write").
  std::string append(std::string_view line);
  const std::string& path() const { return file_.path(); }

 private:
  explicit LogFile(File f) : file_(std::move(f)) {}
  File file_;
};

}  // namespace pgdr
