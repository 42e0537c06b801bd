// `pgdr check`: proves a setup from the cluster's side. It connects to [cluster] conninfo, reads
// the settings archiving and recovery depend on, opens every configured repository (reachable,
// writable, key unwrapped with the configured passphrase source), looks for the server programs a
// drill needs, and finally forces a WAL switch and waits until the server's own archive_command has
// made that segment durable in every repository: the one test that runs archive_command in the
// server's environment, with its passphrase source. Every finding is a CheckResult; only what
// stops the whole run (interruption) throws. Changes no setting. One thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check/check_report.h"
#include "config/config.h"
#include "core/error.h"
#include "pg/connection.h"
#include "repo/passphrase.h"
#include "storage/storage.h"

namespace pgdr::check {

struct CheckOptions {
  // How long the forced segment may take to reach every repository.
  std::chrono::milliseconds archive_timeout{std::chrono::seconds(60)};
  // How this pgdr is called with this configuration ("'/usr/bin/pgdr' --config '/etc/pgdr/pgdr.toml'"),
  // for the archive_command a hint proposes.
  std::string pgdr_invocation;
};

class SetupCheck {
 public:
  SetupCheck(const Config& config, CheckOptions options);
  ~SetupCheck();
  SetupCheck(const SetupCheck&) = delete;
  SetupCheck& operator=(const SetupCheck&) = delete;

  Report run();

 private:
  // Each adds its results to report_ (setup_check.cpp, server_settings.cpp, archiving.cpp).
  void check_connection();
  void check_archiving_settings();
  void check_server_features();
  void check_archive_command();
  void check_archive_config(const std::string& command, const std::string& path, CheckResult& r) const;
  void check_repositories();
  void check_repository(const RepoConfig& rc);
  void check_server_programs();
  void check_archiving();
  std::string archiver_status(const std::string& segment);

  void add(CheckResult r);
  // A setting as the server reports it; nullopt when it does not exist in this major or is hidden
  // from this role.
  std::optional<std::string> setting(const std::string& name) const;
  bool failed(const std::string& check) const;
  std::string archive_command_hint() const;
  // The passphrase of [key], read once for every repository (a passphrase_command may be slow or
  // billed per call); throws its Error again on each call when it could not be read.
  const repo::Passphrase& passphrase();

  const Config& config_;
  CheckOptions options_;
  Report report_;
  std::optional<pg::Connection> conn_;
  int server_version_num_ = 0;
  std::map<std::string, std::string> settings_;
  std::optional<repo::Passphrase> passphrase_;
  std::optional<Error> passphrase_error_;
  // The repositories that answered, by name, for the archiving check (listing needs no key).
  std::vector<std::pair<std::string, std::unique_ptr<storage::Storage>>> reachable_;
};

}  // namespace pgdr::check
