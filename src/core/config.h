// The pgdr configuration (TOML), parsed and checked once at start-up. Unknown sections and keys are
// errors, so a typo never silently drops a setting. Holds no secret: the passphrase is named by an
// environment variable or a command, never written here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/log_level.h"

namespace pgdr {

struct ClusterConfig {
  std::string name;
  std::string pgdata;    // absolute path of the data directory
  std::string conninfo;  // libpq connection string (may carry a password: never print it raw)
  // initdb, pg_ctl and postgres of the cluster's major, for the servers pgdr starts; empty: found
  // by pg/binaries.h.
  std::string pg_bindir;
};

struct RepoConfig {
  std::string name;
  std::string path;  // local repository directory (absolute); empty for an S3 repository
  // An S3 repository (s3_endpoint set). Credentials are never here: s3_*_env name the environment
  // variables that hold them.
  std::string s3_endpoint;
  std::string s3_bucket;
  std::string s3_region;
  std::string s3_prefix;
  // "host" (virtual-host addressing) or "path"; empty: path for an endpoint given as an IP address
  // (it has no bucket subdomains), host otherwise.
  std::string s3_uri_style;
  std::string s3_ca_file;             // PEM bundle; empty: the system's trust store
  bool s3_verify_tls = true;
  std::string s3_key_env = "AWS_ACCESS_KEY_ID";
  std::string s3_secret_env = "AWS_SECRET_ACCESS_KEY";
  std::string s3_token_env = "AWS_SESSION_TOKEN";
  std::chrono::milliseconds s3_connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds s3_stall_timeout{std::chrono::seconds(60)};
  int s3_attempts = 5;  // tries of one request, the first included

  bool is_s3() const { return !s3_endpoint.empty(); }
};

struct KeyConfig {
  std::string passphrase_env;      // name of the variable holding the passphrase
  std::string passphrase_command;  // shell command printing the passphrase on stdout
  // How long passphrase_command may take to print its line and exit before it (and what it
  // started) is killed: a hung secrets CLI must not hang archive_command and restore_command.
  std::chrono::milliseconds command_timeout{std::chrono::seconds(30)};
};

struct BackupConfig {
  int process_max = 2;  // parallel file readers
  std::string compress = "zstd";
  int compress_level = 1;
  int checksum_page_warn_max = 20;  // page checksum failures printed before summarising
  // A snapshot reads every byte (instead of only what a change map names) when the newest one that
  // did is this old; 0 never forces one.
  std::chrono::milliseconds full_read_every{std::chrono::hours(24 * 7)};
  // How long a snapshot waits for PostgreSQL 17+'s WAL summarizer to reach its start LSN.
  std::chrono::milliseconds summaries_wait{std::chrono::seconds(60)};
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

// archive-push and archive-get through `pgdr archive-agent`, which holds the repositories' keys.
struct ArchiveConfig {
  // The agent's Unix socket (absolute); empty: pgdr-archive-agent.<data directory name>.sock beside
  // [cluster] pgdata, or no agent when pgdata is not set either (see archive/agent_socket.h).
  std::string agent_socket;
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

// What `pgdr verify` expects and how hard it looks (docs/commands/verify.md).
struct VerifyConfig {
  std::chrono::milliseconds snapshot_interval{std::chrono::hours(1)};  // one snapshot expected per interval
  std::chrono::milliseconds window{std::chrono::hours(24)};            // how far back coverage and sizes look
  double coverage_warn = 95;    // percent below which coverage is WARN
  double coverage_fail = 80;    // percent below which coverage is FAIL
  std::chrono::milliseconds reverify_after{std::chrono::hours(24 * 30)};  // re-read objects verified longer ago
  double anomaly_threshold = 5;  // robust z-score (deviation from the median in MADs) that flags a size
  int anomaly_history = 10;      // predecessors that form the size baseline
  int process_max = 2;           // parallel object readers
};

// Where `pgdr verify` sends its one message per run. Holds no secret: the SMTP password is named by
// an environment variable.
struct AlertsConfig {
  std::string smtp_url;  // smtp://host:port or smtps://host:port; empty: no e-mail
  bool starttls = false;  // require STARTTLS on smtp://
  std::string ca_file;    // CA certificates (PEM) to trust for TLS, instead of the system's
  std::string smtp_user;
  std::string smtp_password_env;
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> webhook_urls;  // each gets the JSON by POST
  std::string min_severity = "investigate";  // investigate < warning < alert < critical
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

// What `pgdr expire` keeps: per cluster, the newest snapshot of each of the newest N hours, days,
// ISO weeks, months and years (UTC) that have one, everything younger than min_age, and the newest.
struct RetentionConfig {
  int hourly = 24;
  int daily = 7;
  int weekly = 4;
  int monthly = 12;
  int yearly = 0;
  std::chrono::milliseconds min_age{std::chrono::hours(1)};
  // How long expire waits for a running backup, and a backup for a running expire.
  std::chrono::milliseconds lock_wait{std::chrono::minutes(10)};
  // A pack that kept snapshots still need is repacked when at least this percentage of its bytes
  // is garbage; 0 turns repacking off.
  double repack_threshold = 50;
  // How long a repacked pack stays for readers that started before the repack.
  std::chrono::milliseconds repack_grace{std::chrono::hours(24)};
  // Packs one expire repacks at most (the most garbage first); the rest wait for the next.
  int repack_max_packs = 64;
};

// When `pgdr daemon` runs each job: a cron expression in UTC (5 fields, or 6 with seconds first),
// "@hourly"/"@daily"/"@weekly"/"@monthly", "@every <duration>", or for expire "after backup".
// Empty: the job is not scheduled. Checked by the daemon's parser (daemon/cron.h) when it starts.
struct ScheduleConfig {
  std::string backup, verify, restore_test, drill, expire, measure;
};

// `pgdr daemon`'s HTTP endpoint and its dashboard. Holds no secret: the token and the TLS key are
// named by a file or an environment variable, read when the daemon starts (daemon/http_auth.h).
struct DaemonConfig {
  std::string listen = "127.0.0.1:7433";  // host:port of /metrics, /health and the dashboard; "" for none
  std::string state_file;  // last run of each job, for catch-up; empty: the catalog path + ".daemon.json"
  int heatmap_days = 14;   // days shown in the dashboard's coverage heat map
  // Connections served at once; one more is answered 503 and closed at once (daemon/http_limits.h).
  int max_connections = 128;
  // How long a client has to send a whole request, from its connection (or its previous response).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
  std::string auth_token_file;  // bearer token, first line of a file of mode 0600 or stricter
  std::string auth_token_env;   // or the name of the environment variable holding it
  bool health_auth = false;     // /health asks for the token too (else it answers without the reasons)
  std::string tls_cert_file;    // PEM certificate chain; with tls_key_file, serve HTTPS only
  std::string tls_key_file;     // PEM private key, mode 0600 or stricter
};

// Where every command's log lines go besides stderr, and how many (core/log.h).
struct LogConfig {
  LogLevel level = LogLevel::info;  // -q and -v win over it
  std::string file;                 // appended, created 0600 (absolute); empty: none
  std::string syslog_facility;      // "user", "daemon", "local0".."local7"; empty: no syslog
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
  ArchiveConfig archive;
  StreamConfig stream;
  VerifyConfig verify;
  AlertsConfig alerts;
  RetentionConfig retention;
  ScheduleConfig schedule;
  DaemonConfig daemon;
  LogConfig log;

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
