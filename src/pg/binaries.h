// Which PostgreSQL programs pgdr runs for a given major. A data directory is only ever started by
// the server of its own major (a newer postgres refuses an older directory, an older one may not
// even say why), so every server pgdr starts (drills, restore tests, failover checks, the demo)
// takes its programs from here:
//   1. the configured directory ([cluster] pg_bindir), when set;
//   2. /usr/lib/postgresql/MAJOR/bin (Debian's and Ubuntu's layout);
//   3. `pg_config --bindir` of the pg_config on PATH, when its major is MAJOR.
// Each candidate's `postgres --version` must name MAJOR. A configured directory of another major is
// passed over (after a major upgrade pg_bindir names the new major, and the old snapshots still
// need the old one) and named in the error when no candidate fits.
//
// Client programs (pg_amcheck, psql) speak to servers of other majors too: they are looked for
// beside the server, then in the newest /usr/lib/postgresql/N/bin that has them, then on PATH.
// Thread-safe (answers are cached per process).
#pragma once

#include <optional>
#include <string>

namespace pgdr::pg {

struct ServerPrograms {
  int major = 0;
  std::string bindir;  // holds initdb, pg_ctl and postgres
  std::string program(const std::string& name) const { return bindir + "/" + name; }
};

// Throws Error(config) naming the major and `[cluster] pg_bindir` when no candidate fits.
ServerPrograms find_server_programs(int major, const std::string& configured_bindir);

// The major of the postgres binary in bindir ("postgres (PostgreSQL) 17.10" -> 17); nullopt when
// there is none or it does not answer.
std::optional<int> server_major_in(const std::string& bindir);

// The path of a client program (pg_amcheck, psql) to use against a server of `near`'s major.
// Throws Error(config) when none is found.
std::string find_client_program(const std::string& name, const ServerPrograms& near);

// The major written in a data directory's PG_VERSION. Throws Error(not_found) when there is none.
int data_directory_major(const std::string& data_dir);

}  // namespace pgdr::pg
