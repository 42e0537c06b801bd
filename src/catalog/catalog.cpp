#include "catalog/catalog.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "core/error.h"
#include "core/file.h"

namespace pgdr::catalog {

namespace {

// The tables as schema version 1 made them. A newer pgdr adds tables or columns with ALTER
// (migrate()), never drops what an older one wrote; user_version says what is there.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  cluster TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  seconds REAL NOT NULL,
  result TEXT NOT NULL,
  rto_seconds REAL,
  rpo_seconds REAL,
  report TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_kind ON runs(kind, cluster, started_ms);
CREATE TABLE IF NOT EXISTS verified_objects (
  repo TEXT NOT NULL,
  object TEXT NOT NULL,
  verified_ms INTEGER NOT NULL,
  PRIMARY KEY (repo, object)
) WITHOUT ROWID;
)sql";

// Version 2: runs.repository, the repository a run is about, so that the newest verify of each
// repository is found without reading every report. Rows written before (or since, by an older
// pgdr, which leaves the column at its default) take it from their report.
constexpr const char* kAddRepository = R"sql(
ALTER TABLE runs ADD COLUMN repository TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS runs_by_repository ON runs(kind, cluster, repository, started_ms);
)sql";
constexpr const char* kFillRepository = R"sql(
UPDATE runs SET repository = json_extract(report, '$.repository')
  WHERE repository = '' AND json_valid(report) AND json_type(report, '$.repository') = 'text';
PRAGMA user_version = 2;
)sql";

std::int64_t to_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SystemTime from_ms(std::int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

// A prepared statement, finalized on every path.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const std::string& path) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(ErrorKind::io, "unable to query catalog " + path + " (" + sqlite3_errmsg(db) + ")");
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  void bind(int i, const std::string& v) { sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, std::optional<double> v) {
    if (v) sqlite3_bind_double(stmt_, i, *v);
    else sqlite3_bind_null(stmt_, i);
  }
  void bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  // True while a row is available.
  bool step(const std::string& path) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(ErrorKind::io, "unable to update catalog " + path + " (" + sqlite3_errmsg(db_) + ")");
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<double> real(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

Catalog Catalog::open(const std::string& path) {
  std::string dir = parent_directory(path);
  if (!dir.empty()) make_directories(dir, 0700);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw Error(ErrorKind::io, "unable to open catalog " + path + " (" + why + ")");
  }
  Catalog c(db, path);
  sqlite3_busy_timeout(db, 30'000);
  c.exec("PRAGMA journal_mode = WAL");
  c.exec("PRAGMA synchronous = FULL");
  c.exec(kSchema);
  c.migrate();
  ::chmod(path.c_str(), 0600);
  return c;
}

Catalog::Catalog(Catalog&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Catalog& Catalog::operator=(Catalog&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Catalog::~Catalog() { sqlite3_close(db_); }

void Catalog::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(ErrorKind::io, "unable to update catalog " + path_ + " (" + why + ")");
  }
}

void Catalog::migrate() {
  // Every open comes here: once the catalog is current it costs one read of user_version. (An
  // older pgdr's open sets user_version back to 1; the next open here fills what it wrote since.)
  {
    Statement v(db_, "PRAGMA user_version", path_);
    if (v.step(path_) && v.int64(0) >= 2) return;
  }
  // In one transaction, so that two processes opening an old catalog at once add the column once.
  exec("BEGIN IMMEDIATE");
  try {
    bool has_column = false;
    {
      Statement has(db_, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'repository'", path_);
      has_column = has.step(path_) && has.int64(0) > 0;
    }
    if (!has_column) exec(kAddRepository);
    exec(kFillRepository);
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::int64_t Catalog::record_run(const RunRecord& run) {
  Statement s(db_,
              "INSERT INTO runs (kind, cluster, started_ms, seconds, result, rto_seconds, rpo_seconds, report, "
              "repository) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
              path_);
  s.bind(1, run.kind);
  s.bind(2, run.cluster);
  s.bind(3, to_ms(run.started));
  s.bind(4, run.seconds);
  s.bind(5, run.result);
  s.bind(6, run.rto_seconds);
  s.bind(7, run.rpo_seconds);
  s.bind(8, run.report_json);
  s.bind(9, run.repository);
  s.step(path_);
  return sqlite3_last_insert_rowid(db_);
}

namespace {

constexpr const char* kRunColumns =
    "SELECT id, kind, cluster, started_ms, seconds, result, rto_seconds, rpo_seconds, report, repository FROM runs ";

RunRecord run_at(const Statement& s) {
  RunRecord r;
  r.id = s.int64(0);
  r.kind = s.text(1);
  r.cluster = s.text(2);
  r.started = from_ms(s.int64(3));
  r.seconds = s.real(4).value_or(0);
  r.result = s.text(5);
  r.rto_seconds = s.real(6);
  r.rpo_seconds = s.real(7);
  r.report_json = s.text(8);
  r.repository = s.text(9);
  return r;
}

}  // namespace

std::vector<RunRecord> Catalog::runs(const std::string& kind, const std::string& cluster, std::size_t limit) const {
  Statement s(db_,
              (std::string(kRunColumns) +
               "WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR cluster = ?2) ORDER BY started_ms DESC, id DESC LIMIT ?3")
                  .c_str(),
              path_);
  s.bind(1, kind);
  s.bind(2, cluster);
  s.bind(3, static_cast<std::int64_t>(limit));
  std::vector<RunRecord> out;
  while (s.step(path_)) out.push_back(run_at(s));
  return out;
}

std::optional<RunRecord> Catalog::newest_run(const std::string& kind, const std::string& cluster,
                                             const std::string& repository) const {
  Statement s(db_,
              (std::string(kRunColumns) +
               "WHERE kind = ?1 AND cluster = ?2 AND repository = ?3 ORDER BY started_ms DESC, id DESC LIMIT 1")
                  .c_str(),
              path_);
  s.bind(1, kind);
  s.bind(2, cluster);
  s.bind(3, repository);
  if (!s.step(path_)) return std::nullopt;
  return run_at(s);
}

std::optional<SystemTime> Catalog::verified_at(const std::string& repo, const std::string& object) const {
  Statement s(db_, "SELECT verified_ms FROM verified_objects WHERE repo = ?1 AND object = ?2", path_);
  s.bind(1, repo);
  s.bind(2, object);
  if (!s.step(path_)) return std::nullopt;
  return from_ms(s.int64(0));
}

void Catalog::mark_verified(const std::string& repo, const std::vector<std::string>& objects, SystemTime when) {
  exec("BEGIN IMMEDIATE");
  try {
    Statement s(db_, "INSERT OR REPLACE INTO verified_objects (repo, object, verified_ms) VALUES (?1, ?2, ?3)", path_);
    for (const auto& o : objects) {
      s.bind(1, repo);
      s.bind(2, o);
      s.bind(3, to_ms(when));
      s.step(path_);
      s.reset();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Catalog::forget_verified(const std::string& repo, const std::vector<std::string>& objects) {
  exec("BEGIN IMMEDIATE");
  try {
    Statement s(db_, "DELETE FROM verified_objects WHERE repo = ?1 AND object = ?2", path_);
    for (const auto& o : objects) {
      s.bind(1, repo);
      s.bind(2, o);
      s.step(path_);
      s.reset();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::string catalog_path(const Config& config) {
  if (!config.catalog.path.empty()) return config.catalog.path;
  if (const char* env = std::getenv("PGDR_CATALOG"); env && *env) return env;
  std::string file = (config.cluster.name.empty() ? std::string("main") : config.cluster.name) + ".db";
  if (::geteuid() == 0) return "/var/lib/pgdr/" + file;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state == '/') return std::string(state) + "/pgdr/" + file;
  if (const char* home = std::getenv("HOME"); home && *home == '/') return std::string(home) + "/.local/state/pgdr/" + file;
  return "/tmp/pgdr-" + std::to_string(::geteuid()) + "/" + file;
}

}  // namespace pgdr::catalog
