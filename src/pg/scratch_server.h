// ScratchServer: a throwaway PostgreSQL server that pgdr runs on a data directory it restored
// itself, for a restore test, a drill or the demo. It owns everything it makes: one fresh directory
// (data/ to restore into, socket/, server.log, pg_hba.conf), a free loopback port, and the
// postmaster. Destroying it stops the server (immediate mode, SIGKILL if that fails) and removes
// the directory, also when a check failed or the run was interrupted.
//
// What start() changes in the restored copy, so that it cannot disturb production: archiving off
// (a promoted copy must never push its new timeline into the repository), no synchronous standby
// names, its own port and socket directory, SSL off (the source's certificate paths may not exist
// here), and an hba file whose first rule trusts local connections on the private socket directory
// (0700, so only the server user and root reach it) followed by the source's own rules, so that an
// application check can log in over TCP as it would in production.
//
// Not thread-safe; not copyable or movable.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "pg/binaries.h"
#include "pg/server_user.h"

namespace pgdr::pg {

struct ScratchServerOptions {
  std::string parent_dir;                   // where the directory is made; empty: $TMPDIR or /tmp
  std::string name_prefix = "pgdr-scratch";
  std::string server_user;                  // see server_user(); "" = postgres when root
  std::string superuser = "postgres";       // the role pgdr's own checks connect as
  std::vector<std::string> server_env;      // "K=V" for the server (restore_command sees them)
  std::string pg_bindir;                    // [cluster] pg_bindir; empty: found by pg/binaries.h
};

class ScratchServer {
 public:
  // Makes <parent>/<prefix>-XXXXXX (mode 0700) and picks a free port. Nothing runs yet.
  explicit ScratchServer(ScratchServerOptions options);
  ~ScratchServer();
  ScratchServer(const ScratchServer&) = delete;
  ScratchServer& operator=(const ScratchServer&) = delete;

  const std::string& root() const { return root_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& socket_dir() const { return socket_dir_; }
  std::string log_path() const { return root_ + "/server.log"; }
  int port() const { return port_; }
  bool running() const { return postmaster_pid_ > 0; }
  pid_t postmaster_pid() const { return postmaster_pid_; }

  // Applies the settings above to the restored data directory and starts it with the server of
  // its own major (PG_VERSION; see pg/binaries.h); returns once it accepts connections (during
  // archive recovery: once it is consistent). Throws Error(config) when that major's programs are
  // not found, Error(postgres) with the end of the server log when it does not start in time.
  void start(std::chrono::milliseconds timeout);
  // The programs start() chose; empty before it.
  const ServerPrograms& programs() const { return programs_; }
  // Waits until recovery has ended and the server is a primary. Throws Error(postgres) if the
  // server stops (with the end of its log), Error(interrupted) on a signal, or after timeout.
  void wait_promoted(std::chrono::milliseconds timeout);
  // pg_ctl stop: fast, then immediate, then SIGKILL. Safe to call when not running.
  void stop() noexcept;

  // Keyword/value connection string over the private socket, as the superuser.
  std::string conninfo(const std::string& dbname = "postgres") const;
  // PGHOST, PGPORT, PGUSER and PGDATABASE for a program that should reach this server.
  std::vector<std::string> libpq_env(const std::string& dbname = "postgres") const;
  // The last lines of the server log, for messages.
  std::string log_tail(std::size_t lines = 5) const;

  // Keep the directory (and the stopped server's files) after destruction: `--keep`.
  void keep() { keep_ = true; }

 private:
  void write_settings();
  void pick_port();
  void read_postmaster_pid();

  ScratchServerOptions options_;
  ServerUser user_;
  std::string root_;
  std::string data_dir_;
  std::string socket_dir_;
  int port_ = 0;
  ServerPrograms programs_;
  pid_t postmaster_pid_ = 0;
  bool keep_ = false;
};

}  // namespace pgdr::pg
