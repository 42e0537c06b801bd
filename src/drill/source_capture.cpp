#include "drill/source_capture.h"

#include "core/error.h"

namespace pgdr::drill {

namespace {

std::string quote_value(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string with_dbname(const std::string& conninfo, const std::string& dbname) {
  // libpq takes the last of repeated keywords, so appending overrides a dbname already present. A
  // URI cannot be extended that way: wrap it as the dbname of a keyword/value string instead
  // (libpq expands a dbname that is itself a URI, then applies the keywords after it).
  if (conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://"))
    return "dbname=" + quote_value(conninfo) + " dbname=" + quote_value(dbname);
  return conninfo + (conninfo.empty() ? "" : " ") + "dbname=" + quote_value(dbname);
}

std::vector<std::string> source_databases(pg::Connection& source, const std::string& only) {
  if (!only.empty()) return {only};
  std::vector<std::string> out;
  for (const auto& row :
       source.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1").rows)
    out.push_back(*row[0]);
  return out;
}

SourceCommit capture_commit(pg::Connection& source, bool heartbeat, SystemTime declared) {
  SourceCommit c;
  if (heartbeat) {
    source.exec("CREATE SCHEMA IF NOT EXISTS pgdr");
    source.exec(
        "CREATE TABLE IF NOT EXISTS pgdr.heartbeat (id int PRIMARY KEY, beat_at timestamptz NOT NULL, "
        "note text NOT NULL DEFAULT 'written by pgdr drill; its commit time is the RPO reference')");
    // clock_timestamp(), not now(): the commit follows this statement at once, in autocommit.
    auto r = source.query(
        "INSERT INTO pgdr.heartbeat (id, beat_at) VALUES (1, clock_timestamp()) "
        "ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at "
        "RETURNING to_char(beat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
    if (auto t = parse_iso8601(r.scalar())) {
      c.newest_commit = *t;
      c.method = "heartbeat";
    }
  }
  if (c.method.empty() && source.query("SHOW track_commit_timestamp").scalar() == "on") {
    auto r = source.query(
        "SELECT to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM pg_last_committed_xact()");
    if (!r.rows.empty() && r.rows[0][0])
      if (auto t = parse_iso8601(*r.rows[0][0])) {
        c.newest_commit = *t;
        c.method = "pg_last_committed_xact";
      }
  }
  if (c.method.empty()) {
    c.newest_commit = declared;
    c.method = "declared time";
  }
  c.lsn = source.query("SELECT pg_current_wal_insert_lsn()::text").scalar();
  return c;
}

std::map<std::string, DatabaseFingerprint> capture_fingerprints(const std::string& conninfo,
                                                                const std::vector<std::string>& databases,
                                                                std::uint64_t recent_window) {
  std::map<std::string, DatabaseFingerprint> out;
  for (const auto& db : databases) {
    pg::Connection c(with_dbname(conninfo, db));
    c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    out[db] = fingerprint_database(c, recent_window);
    c.exec("COMMIT");
  }
  return out;
}

}  // namespace pgdr::drill
