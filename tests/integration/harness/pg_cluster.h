// A throwaway PostgreSQL cluster for one test (15 unless the options name another major): initdb -k
// in its own temporary directory, a free
// port on 127.0.0.1, its unix socket and server log beside the data directory. The cluster owns the
// server: destroying it stops the postmaster (immediate mode; SIGKILL to it and its children if that
// fails) and removes the directory, also when the test fails. Running postmasters are registered
// so that a crash of the test binary (fatal signal, exit()) still kills them.
//
// The server programs (initdb, pg_ctl, postgres) are those of the cluster's major (server_bindir);
// the client programs (psql, pgbench, pg_amcheck...) are always Debian's 15, which work against
// every major from 14 to 18 (bin).
//
// As root, every server program runs as the server user (see server_user.h).
// Not thread-safe; not copyable or movable (the registry and the directory are tied to it).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/subprocess.h"
#include "harness/temp_dir.h"

namespace pgdr::test {

// How a PgCluster is made (PgCluster::Options). Outside the class so that it can be a default argument.
struct PgClusterOptions {
  // The PostgreSQL major whose server programs run the cluster. Unset: 15 for a new cluster, the
  // PG_VERSION of an adopted data directory (which must agree when it is set).
  std::optional<int> major;
  // archive_command; empty means archive_mode = off.
  std::string archive_command;
  // Extra postgresql.conf lines ("max_connections = 20"), written after the harness's own.
  std::vector<std::string> settings;
  // Added to initdb's own (-k -A trust -U postgres -E UTF8 --locale=C --no-sync); new clusters only.
  std::vector<std::string> initdb_args;
  // Start the server in the constructor.
  bool start = true;
  // How long pg_ctl waits for the server to accept connections (recovery included).
  int start_timeout_seconds = 120;
  // "K=V" entries added to the server's environment (archive_command and restore_command see them).
  std::vector<std::string> server_env;
};

class PgCluster {
 public:
  using Options = PgClusterOptions;

  // An existing data directory (a restored one, say) to run on a fresh port. Its files are given to
  // the server user; the directory is not removed on destruction (its creator owns it).
  struct Adopt {
    std::string data_dir;
  };

  // initdb a new cluster, write its configuration and (by default) start it.
  explicit PgCluster(Options options = {});
  // Take over data_dir: the harness settings (port, socket, logging, archiving per options) are
  // appended to its postgresql.auto.conf, which overrides what the source cluster had.
  PgCluster(Adopt existing, Options options = {});
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // pg_ctl start -w; throws Error(postgres) with the end of the server log when it fails.
  void start();
  // pg_ctl stop -m mode (smart, fast, immediate) -w.
  void stop(const std::string& mode = "fast");
  // SIGKILL to the postmaster and its backends at once: a crash. postmaster.pid stays, as after a
  // real one, so the next start() runs crash recovery.
  void kill9();
  void restart();
  // pg_ctl reload: re-read the configuration.
  void reload();
  bool running() const { return postmaster_pid_ > 0; }
  pid_t postmaster_pid() const { return postmaster_pid_; }

  // Appends a line to the configuration file the harness writes (postgresql.conf, or
  // postgresql.auto.conf for an adopted cluster); takes effect at the next reload or start.
  void append_config(const std::string& line);

  int major() const { return major_; }
  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  // The cluster's temporary directory (socket, log; the data directory too unless adopted).
  const std::string& dir() const { return dir_.path(); }
  std::string socket_dir() const;
  std::string log_path() const;
  // The whole server log so far.
  std::string log() const;
  // "host=127.0.0.1 port=N dbname=<db> user=postgres"
  std::string conninfo(const std::string& db = "postgres") const;

  // Runs sql (any number of statements) with psql -XAtq -v ON_ERROR_STOP=1 over TCP; returns its
  // output without the final newline (rows one per line, columns separated by '|'). Throws
  // Error(postgres) carrying psql's stderr when it fails.
  std::string psql(const std::string& sql, const std::string& db = "postgres") const;

  // Any program as the server user; bin("pgbench") names PostgreSQL 15's client programs.
  static ProcessResult run_as_server_user(const std::vector<std::string>& argv, const std::string& stdin_data = {},
                                          const std::vector<std::string>& extra_env = {});
  static std::string bin(const std::string& program);

  // The major of a cluster made without options.major.
  static constexpr int kDefaultMajor = 15;
  // The directory of initdb, pg_ctl and postgres of a major: Debian's /usr/lib/postgresql/15/bin for
  // 15, otherwise $PGDR_PG_CACHE/MAJOR/bin (default /var/cache/pgdr-test/postgresql), where
  // .ci/deps.sh installs 14, 16, 17 and 18. What [cluster] pg_bindir of a test's configuration names.
  // Throws Error(not_found) naming .ci/deps.sh when one of the three is missing: a matrix test on a
  // machine without the servers fails, it is never skipped.
  static std::string server_bindir(int major);
  // The server program of this cluster's major.
  std::string server_bin(const std::string& program) const;
  static const std::string& server_user();

 private:
  void write_harness_config(const std::string& file);
  void pick_port();
  void read_postmaster_pid();
  void forget_postmaster();
  std::string log_since(std::size_t offset) const;

  Options options_;
  int major_ = kDefaultMajor;
  TempDir dir_;
  std::string data_dir_;
  std::string config_file_;
  bool adopted_ = false;
  int port_ = 0;
  pid_t postmaster_pid_ = 0;
};

}  // namespace pgdr::test
