#include "harness/pgdr_runner.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "core/error.h"
#include "harness/server_user.h"
#include "harness/temp_dir.h"

#ifndef PGDR_BINARY
#error "PGDR_BINARY must name the built pgdr (tests/CMakeLists.txt defines it)"
#endif

namespace pgdr::test {
namespace {

struct BinaryCopy {
  TempDir dir{"pgdr-bin"};
  std::string path;

  BinaryCopy() {
    path = dir.file("pgdr");
    std::error_code ec;
    std::filesystem::copy_file(PGDR_BINARY, path, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) throw Error(ErrorKind::io, std::string("unable to copy ") + PGDR_BINARY + " to " + path + " (" + ec.message() + ")");
    // Readable and runnable by everyone, the directory too: TempDir makes it 0700.
    if (::chmod(path.c_str(), 0755) != 0) throw_errno("unable to change mode of", path, errno);
    if (::chmod(dir.path().c_str(), 0755) != 0) throw_errno("unable to change mode of", dir.path(), errno);
  }
};

}  // namespace

const std::string& pgdr_path() {
  // A function-local static: built once, thread-safe, destroyed (directory removed) at exit.
  static const BinaryCopy copy;
  return copy.path;
}

PgdrResult run_pgdr(const std::vector<std::string>& args, const std::vector<std::string>& env, bool as_server) {
  std::vector<std::string> argv = {pgdr_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return as_server ? run_as_server_user(argv, {}, env) : run_process(argv, {}, env);
}

}  // namespace pgdr::test
