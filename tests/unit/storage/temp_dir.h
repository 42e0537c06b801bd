// A fresh directory under $TMPDIR (or /tmp) for one test, removed with everything in it on destruction.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/file.h"

namespace pgdr::test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/pgdr-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("unable to create temporary directory", pattern, errno);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    try {
      remove_tree(path_);
    } catch (...) {
      // Leaving a directory behind in /tmp must not turn a passing test into a crash.
    }
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pgdr::test
