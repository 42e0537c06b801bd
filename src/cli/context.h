// What every command shares: the global options, the configuration (read on first use, so that
// --help works without one) and opening repositories with the configured key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "repo/repository.h"

namespace pgdr::cli {

struct Context {
  std::optional<std::string> config_path;
  std::string repo_name;  // --repo, "" for every / the first repository

  const Config& config();
  // Opens the repository named by --repo (the first one when none is named).
  repo::Repository open_repo();
  repo::Repository open_repo(const RepoConfig& r);
  // How a server started from a restored copy calls this pgdr back (restore_command): this binary
  // and this configuration by absolute path, shell-quoted, e.g. "'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml'".
  std::string pgdr_invocation();
  // Opens the repository named by --repo, or every configured one in file order.
  std::vector<repo::Repository> open_repos();
  // The configured repositories --repo selects (all of them when it names none).
  std::vector<RepoConfig> selected_repos();

 private:
  std::optional<Config> config_;
};

}  // namespace pgdr::cli
