// What the drill learns from the source cluster at the moment the disaster is declared: the
// newest commit there (the truth the RPO is measured against) and, for the integrity phase, the
// schema and row fingerprints of the compared databases under one snapshot taken then.
//
// The newest commit comes from the best evidence the source allows, and the report names it:
//   heartbeat              pgdr commits a row in pgdr.heartbeat ([drill] heartbeat = true): exact;
//   pg_last_committed_xact the source records commit times (track_commit_timestamp = on): exact;
//   declared time          neither: the disaster time itself, an upper bound on the newest commit.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "drill/fingerprint.h"

namespace pgdr::drill {

struct SourceCommit {
  SystemTime newest_commit{};
  std::string method;   // "heartbeat", "pg_last_committed_xact" or "declared time"
  std::string lsn;      // the source's WAL insert position then
};

struct SourceCapture {
  SourceCommit commit;
  std::string superuser;  // the bootstrap superuser's name (the copy's checks connect as it)
  std::map<std::string, DatabaseFingerprint> databases;
  std::string error;      // fingerprints could not be taken (the commit part is still valid)
};

// The databases the integrity phase compares: `only` if set, else every database that accepts
// connections (templates excepted).
std::vector<std::string> source_databases(pg::Connection& source, const std::string& only);

// Writes the heartbeat when allowed, then finds the newest commit. declared is the disaster time.
SourceCommit capture_commit(pg::Connection& source, bool heartbeat, SystemTime declared);

// Fingerprints each database under its own REPEATABLE READ snapshot (conninfo with dbname replaced).
// recent_window: transaction ids kept apart (see fingerprint.h).
std::map<std::string, DatabaseFingerprint> capture_fingerprints(const std::string& conninfo,
                                                                const std::vector<std::string>& databases,
                                                                std::uint64_t recent_window);

// conninfo with dbname set (keyword/value form or URI).
std::string with_dbname(const std::string& conninfo, const std::string& dbname);

}  // namespace pgdr::drill
