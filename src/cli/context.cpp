#include "cli/context.h"

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

}  // namespace pgdr::cli
