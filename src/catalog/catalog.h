// The local catalog: a SQLite database on the machine that runs pgdr (not in the repository) that
// remembers what pgdr has done and measured, so that later runs can build on it:
//  - runs: every drill, verify, measure and backup result with its figures and full JSON report,
//    the history behind `pgdr history`, trends and the RTO forecast;
//  - verified objects: which repository object was verified when, so a daily verify checks what
//    changed, not the whole archive.
// The catalog is a cache of evidence, never a source of truth about the repository: losing it
// costs one full verify and the history, never data.
//
// One Catalog owns one SQLite connection; use it from one thread at a time. Several processes may
// open the same file (SQLite's WAL mode and a busy timeout serialise writers).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/time_format.h"

namespace pgdr::catalog {

// One recorded result.
struct RunRecord {
  std::int64_t id = 0;  // assigned by record_run
  std::string kind;     // "drill", "verify", "measure", "backup", "restore"
  std::string cluster;  // [cluster] name
  // The repository the run is about (a verify's or a measure's "repository"), "" when the run is
  // about every repository (backup, expire) or none.
  std::string repository;
  SystemTime started{};
  double seconds = 0;   // wall time of the run
  std::string result;   // "PASS", "WARN", "FAIL", or "OK"/"ERROR" for action commands
  std::optional<double> rto_seconds;
  std::optional<double> rpo_seconds;
  std::string report_json;  // the full report, as written
};

class Catalog {
 public:
  // Opens (creating file, parent directories 0700 and schema as needed) the catalog at path.
  // Throws Error(io) naming the path when SQLite cannot.
  static Catalog open(const std::string& path);

  Catalog(Catalog&& other) noexcept;
  Catalog& operator=(Catalog&& other) noexcept;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;
  ~Catalog();

  const std::string& path() const { return path_; }

  // Stores a run; returns its id.
  std::int64_t record_run(const RunRecord& run);
  // Runs of one kind (every kind when kind is empty) for one cluster (every cluster when empty),
  // newest first, at most limit.
  std::vector<RunRecord> runs(const std::string& kind, const std::string& cluster, std::size_t limit) const;
  // The newest run of one kind for one cluster about one repository; nullopt when there is none.
  std::optional<RunRecord> newest_run(const std::string& kind, const std::string& cluster,
                                      const std::string& repository) const;

  // When object of repo was last verified good; nullopt when never.
  std::optional<SystemTime> verified_at(const std::string& repo, const std::string& object) const;
  // Records objects as verified at `when`, in one transaction.
  void mark_verified(const std::string& repo, const std::vector<std::string>& objects, SystemTime when);
  // Forgets objects (e.g. found damaged, or removed by expire).
  void forget_verified(const std::string& repo, const std::vector<std::string>& objects);

 private:
  Catalog(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void exec(const char* sql) const;
  void migrate();

  sqlite3* db_ = nullptr;
  std::string path_;
};

// Where the catalog of this configuration lives: [catalog] path, else $PGDR_CATALOG, else
// /var/lib/pgdr/<cluster>.db for root, else $XDG_STATE_HOME/pgdr/<cluster>.db (default
// ~/.local/state/pgdr/<cluster>.db).
std::string catalog_path(const Config& config);

}  // namespace pgdr::catalog
