#include "cli/context.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "core/log.h"
#include "core/shell.h"

#include "repo/passphrase.h"
#include "storage/open_storage.h"

namespace pgdr::cli {

const Config& Context::config() {
  if (!config_) {
    config_ = load_config(locate_config(config_path));
    configure_log(config_->log, config_->cluster.name);
    log_debug("configuration read from " + config_->source);
  }
  return *config_;
}

repo::Repository Context::open_repo() { return open_repo(config().repo(repo_name)); }

std::vector<RepoConfig> Context::selected_repos() {
  const Config& cfg = config();
  if (!repo_name.empty()) return {cfg.repo(repo_name)};
  cfg.repo("");  // none configured: a configuration error
  return cfg.repos;
}

std::vector<repo::Repository> Context::open_repos() {
  std::vector<RepoConfig> selected = selected_repos();
  // Every repository's settings before the passphrase: a missing one is named before any key work,
  // and a passphrase command runs once, not once per repository.
  std::vector<std::unique_ptr<storage::Storage>> stores;
  for (const auto& r : selected) {
    stores.push_back(storage::open_storage(r));
    repo::Repository::read_settings(*stores.back(), r.name);
  }
  repo::Passphrase pass = repo::read_passphrase(config().key);
  std::vector<repo::Repository> out;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    log_debug("opening repository '" + selected[i].name + "' at " + stores[i]->describe() + " with the key from " +
              pass.source);
    out.push_back(repo::Repository::open(std::move(stores[i]), selected[i].name, pass.view(), pass.source));
  }
  return out;
}

repo::Repository Context::open_repo(const RepoConfig& r) {
  auto store = storage::open_storage(r);
  // Settings first: a missing or unknown-version repository is reported before any passphrase work.
  repo::Repository::read_settings(*store, r.name);
  repo::Passphrase pass = repo::read_passphrase(config().key);
  log_debug("opening repository '" + r.name + "' at " + store->describe() + " with the key from " + pass.source);
  return repo::Repository::open(std::move(store), r.name, pass.view(), pass.source);
}

std::string Context::pgdr_invocation() { return pgdr::pgdr_invocation(config().source); }

}  // namespace pgdr::cli
