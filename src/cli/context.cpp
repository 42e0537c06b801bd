#include "cli/context.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

#include "repo/passphrase.h"
#include "storage/open_storage.h"

namespace pgdr::cli {

const Config& Context::config() {
  if (!config_) config_ = load_config(locate_config(config_path));
  return *config_;
}

repo::Repository Context::open_repo() { return open_repo(config().repo(repo_name)); }

repo::Repository Context::open_repo(const RepoConfig& r) {
  auto store = storage::open_storage(r);
  // Settings first: a missing or unknown-version repository is reported before any passphrase work.
  repo::Repository::read_settings(*store, r.name);
  repo::Passphrase pass = repo::read_passphrase(config().key);
  return repo::Repository::open(std::move(store), r.name, pass.view(), pass.source);
}

namespace {

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace

std::string Context::pgdr_invocation() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) throw Error(ErrorKind::internal, "unable to find the pgdr binary's path");
  exe[n] = '\0';
  char resolved[PATH_MAX];
  if (!realpath(config().source.c_str(), resolved)) throw_errno("unable to resolve", config().source, errno);
  return shell_quoted(exe) + " --config " + shell_quoted(resolved);
}

}  // namespace pgdr::cli
