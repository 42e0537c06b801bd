// The pgdr configuration (TOML), parsed and checked once at start-up. Unknown sections and keys are
// errors, so a typo never silently drops a setting. Holds no secret: the passphrase is named by an
// environment variable or a command, never written here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pgdr {

struct ClusterConfig {
  std::string name;
  std::string pgdata;    // absolute path of the data directory
  std::string conninfo;  // libpq connection string (may carry a password: never print it raw)
};

struct RepoConfig {
  std::string name;
  std::string path;  // local repository directory (absolute)
};

struct KeyConfig {
  std::string passphrase_env;      // name of the variable holding the passphrase
  std::string passphrase_command;  // shell command printing the passphrase on stdout
};

struct BackupConfig {
  int process_max = 2;  // parallel file readers
  std::string compress = "zstd";
  int compress_level = 1;
  int checksum_page_warn_max = 20;  // page checksum failures printed before summarising
};

struct ObjectivesConfig {
  std::chrono::milliseconds rto{std::chrono::hours(4)};
  std::chrono::milliseconds rpo{std::chrono::hours(1)};
};

struct CatalogConfig {
  std::string path;  // the local SQLite catalog; empty: see catalog::catalog_path
};

// How `pgdr drill` builds its throwaway DR cluster and what it checks there.
struct DrillConfig {
  std::string dr_path;    // directory under which each drill makes its own (absolute); empty: $TMPDIR or /tmp
  std::string app_check;  // shell command run with PGHOST/PGPORT/PGDATABASE of the DR cluster until it succeeds
  std::chrono::milliseconds app_check_timeout{std::chrono::minutes(5)};
  bool heartbeat = false;  // may the drill write a heartbeat row on the source (schema pgdr)
  std::string database;    // database the integrity phase compares; empty: every database
  std::string server_user;  // who runs the DR server when pgdr runs as root; empty: postgres
};

// How `pgdr wal-stream` receives WAL over the replication protocol.
struct StreamConfig {
  std::string conninfo;          // where to stream from; empty: [cluster] conninfo
  std::string slot;              // physical replication slot; empty: pgdr_<cluster name>
  std::string application_name = "pgdr_wal_stream";  // for synchronous_standby_names
  std::chrono::milliseconds status_interval{std::chrono::seconds(10)};  // status updates at least this often
  std::chrono::milliseconds flush_interval{std::chrono::seconds(1)};    // without --synchronous
  std::chrono::milliseconds retry_max{std::chrono::seconds(30)};        // longest wait between reconnects
};

// When `pgdr daemon` runs each job: a cron expression in UTC (5 fields, or 6 with seconds first),
// "@hourly"/"@daily"/"@weekly"/"@monthly", "@every <duration>", or for expire "after backup".
// Empty: the job is not scheduled. Checked by the daemon's parser (daemon/cron.h) when it starts.
struct ScheduleConfig {
  std::string backup, verify, restore_test, drill, expire, measure;
};

// `pgdr daemon`'s HTTP endpoint and its dashboard.
struct DaemonConfig {
  std::string listen = "127.0.0.1:9187";  // host:port of /metrics, /health and the dashboard; "" for none
  std::string state_file;  // last run of each job, for catch-up; empty: the catalog path + ".daemon.json"
  int heatmap_days = 14;   // days shown in the dashboard's coverage heat map
};

struct Config {
  std::string source;  // the file it was read from, for messages
  ClusterConfig cluster;
  std::vector<RepoConfig> repos;
  KeyConfig key;
  BackupConfig backup;
  ObjectivesConfig objectives;
  CatalogConfig catalog;
  DrillConfig drill;
  StreamConfig stream;
  ScheduleConfig schedule;
  DaemonConfig daemon;

  // The repository named name, or the only/first one when name is empty; Error(config) if none.
  const RepoConfig& repo(const std::string& name) const;
};

// The file to read: explicit (--config), else $PGDR_CONFIG, else ./pgdr.toml, else
// /etc/pgdr/pgdr.toml. Throws Error(config) when none exists.
std::string locate_config(const std::optional<std::string>& explicit_path);

// Parses and checks; throws Error(config) "<file>:<line>: <what is wrong>".
Config load_config(const std::string& path);
Config parse_config(const std::string& text, const std::string& source);

}  // namespace pgdr
