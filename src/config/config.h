// The pgdr configuration (TOML), parsed and checked once at start-up: every family's section,
// gathered. Each section is declared once beside its family's code (backup/backup_config.h,
// storage/repo_config.h, ...; core/config_section.h is how); this file only lists them. Unknown
// sections and keys are errors, so a typo never silently drops a setting. Holds no secret: the
// passphrase is named by an environment variable or a command, never written here.
//
// Includes only core and the families' *_config.h headers (which include only core), so any layer
// may include it; a layer that needs one section takes that section instead (storage a RepoConfig,
// backup a ClusterConfig, alert an AlertsConfig).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert_config.h"
#include "archive/archive_config.h"
#include "backup/backup_config.h"
#include "catalog/catalog_config.h"
#include "config/objectives_config.h"
#include "core/config_section.h"
#include "core/log_config.h"
#include "daemon/daemon_config.h"
#include "drill/drill_config.h"
#include "pg/cluster_config.h"
#include "repo/key_config.h"
#include "repo/retention.h"
#include "storage/repo_config.h"
#include "stream/stream_config.h"
#include "verify/verify_config.h"

namespace pgdr {

struct Config {
  std::string source;  // the file it was read from, for messages
  ClusterConfig cluster;
  std::vector<RepoConfig> repos;
  KeyConfig key;
  BackupConfig backup;
  ObjectivesConfig objectives;
  CatalogConfig catalog;
  DrillConfig drill;
  ArchiveConfig archive;
  StreamConfig stream;
  VerifyConfig verify;
  AlertsConfig alerts;
  repo::RetentionPolicy retention;
  ScheduleConfig schedule;
  DaemonConfig daemon;
  LogConfig log;

  // The repository named name, or the only/first one when name is empty; Error(config) if none.
  const RepoConfig& repo(const std::string& name) const;
};

// The file to read: explicit (--config), else $PGDR_CONFIG, else ./pgdr.toml, else
// /etc/pgdr/pgdr.toml. Throws Error(config) when none exists.
std::string locate_config(const std::optional<std::string>& explicit_path);

// Parses and checks; throws Error(config) "invalid configuration: <file>:<line> (<what is wrong>)".
Config load_config(const std::string& path);
Config parse_config(const std::string& text, const std::string& source);

// A section of the file as declared, for the documentation test and the manual.
struct ConfigSectionInfo {
  std::string name;   // "backup"; "repo" for [[repo]]
  bool array = false;  // an array of tables
  std::vector<ConfigKeyInfo> keys;  // in the order they are read
  // The value of key in config as TOML writes it (config_literal); of the first element of an
  // array, "" when it has none.
  std::function<std::string(const Config& config, std::string_view key)> shown;
};

// Every section, in the order they are read.
const std::vector<ConfigSectionInfo>& config_sections();

}  // namespace pgdr
