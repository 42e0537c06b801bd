// The differential test of change maps, shared by the 15 tests (source wal-archive) and the matrix
// (17 and later, source wal-summaries). After each piece of a seeded random workload:
//
//   1. the source's content is fingerprinted (every table of every database) while it is quiet;
//   2. a snapshot by map, whose `changes.source` must be the map source, with blocks left unread;
//   3. still quiet, a snapshot that reads everything (`pgdr backup --full-read`);
//   4. the two manifests must agree file for file and block for block (same size, block count and
//      block ids): a block the map missed keeps the previous snapshot's id in the first and has
//      the one on disk in the second, so the first difference names the file and block it missed;
//   5. the snapshot by map restores (--immediate) to a copy whose tables equal the fingerprints of
//      step 1 and on which pg_amcheck is clean.
//
// Both snapshots go to one repository, so their block ids are comparable (an id is an HMAC under
// the repository's id key). Clusters run with data checksums (the harness's initdb -k), which make
// PostgreSQL log every hint-bit change that can reach the disk after a checkpoint, and with
// autovacuum off: nothing but the workload and the backups themselves changes a page.
//
// Not thread-safe: one test, one thread.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "pgdr_fixture.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::test {

// One manifest entry as the comparison sees it: what a restore would write.
struct ManifestFile {
  repo::EntryType type = repo::EntryType::file;
  std::uint64_t size_bytes = 0;
  std::uint64_t block_count = 0;
  std::string link_target;
  std::vector<std::optional<repo::BlockId>> blocks;  // nullopt: an all-zero block, stored nowhere
};
struct ManifestFiles {
  std::uint32_t block_bytes = 0;
  std::map<std::string, ManifestFile> files;  // by path; sorted, so "first" is reproducible
};

inline ManifestFiles read_manifest_files(const repo::Repository& r, const std::string& snapshot_id) {
  repo::ManifestIndex index(r.store(), snapshot_id, r.key());
  ManifestFiles out;
  out.block_bytes = index.block_bytes();
  for (const auto& e : index.entries()) {
    ManifestFile f;
    f.type = e.file.type;
    f.size_bytes = e.file.size_bytes;
    f.block_count = e.file.block_count;
    f.link_target = e.file.link_target;
    if (e.file.type == repo::EntryType::file) {
      for (const auto& b : index.blocks(e)) {
        if (b.is_zero())
          f.blocks.emplace_back(std::nullopt);
        else
          f.blocks.emplace_back(b.id);
      }
    }
    out.files.emplace(e.file.path, std::move(f));
  }
  return out;
}

// Files whose content differs between any two backups of a quiet server, whatever a change map
// does: they are left out of the comparison, and nothing else is. No relation file is here: a
// relation file that differs is a block a map missed (or a page the quiet server changed, which
// is as much a finding).
inline bool differs_between_any_two_backups(const std::string& path) {
  // The backup's own label (start LSN, start time, the snapshot id as label).
  if (path == "backup_label") return true;
  // Rewritten by the checkpoint each backup starts with (pg_backup_start(fast)).
  if (path == "global/pg_control") return true;
  // Each snapshot carries the WAL of its own start-to-stop range.
  if (path == "pg_wal" || path.starts_with("pg_wal/")) return true;
  return false;
}

inline std::string hex_prefix(const std::optional<repo::BlockId>& id) {
  if (!id) return "<zero block>";
  return to_hex(ByteView(id->data(), id->size())).substr(0, 16);
}

// The first difference between the snapshot by map and the full read of the same quiet server,
// in path order, with how many files differ in all; "" when they agree. Entries excluded by
// differs_between_any_two_backups() are not compared.
inline std::string first_difference(const ManifestFiles& by_map, const ManifestFiles& full_read) {
  std::vector<std::string> found;
  auto note = [&](const std::string& what) { found.push_back(what); };
  if (by_map.block_bytes != full_read.block_bytes)
    note("block size " + std::to_string(by_map.block_bytes) + " by map, " + std::to_string(full_read.block_bytes) +
         " in the full read");
  std::map<std::string, std::pair<const ManifestFile*, const ManifestFile*>> all;
  for (const auto& [path, f] : by_map.files) all[path].first = &f;
  for (const auto& [path, f] : full_read.files) all[path].second = &f;
  for (const auto& [path, pair] : all) {
    if (differs_between_any_two_backups(path)) continue;
    const auto* m = pair.first;
    const auto* f = pair.second;
    if (m == nullptr) {
      note(path + ": only in the full read");
      continue;
    }
    if (f == nullptr) {
      note(path + ": only in the snapshot by map");
      continue;
    }
    if (m->type != f->type) {
      note(path + ": entry type " + std::to_string(int(m->type)) + " by map, " + std::to_string(int(f->type)) +
           " in the full read");
      continue;
    }
    if (m->link_target != f->link_target) {
      note(path + ": link to '" + m->link_target + "' by map, '" + f->link_target + "' in the full read");
      continue;
    }
    if (m->size_bytes != f->size_bytes) {
      note(path + ": " + std::to_string(m->size_bytes) + " bytes by map, " + std::to_string(f->size_bytes) +
           " in the full read");
      continue;
    }
    if (m->block_count != f->block_count || m->blocks.size() != f->blocks.size()) {
      note(path + ": " + std::to_string(m->block_count) + " blocks by map, " + std::to_string(f->block_count) +
           " in the full read");
      continue;
    }
    std::size_t differing = 0, first = 0;
    for (std::size_t i = 0; i < m->blocks.size(); ++i)
      if (m->blocks[i] != f->blocks[i] && differing++ == 0) first = i;
    if (differing > 0)
      note(path + ": block " + std::to_string(first) + " (bytes " + std::to_string(first * by_map.block_bytes) +
           " to " + std::to_string((first + 1) * by_map.block_bytes) + ") is " + hex_prefix(m->blocks[first]) +
           " by map, " + hex_prefix(f->blocks[first]) + " in the full read; " + std::to_string(differing) + " of " +
           std::to_string(m->blocks.size()) + " blocks differ");
  }
  if (found.empty()) return "";
  std::string out = found.front();
  if (found.size() > 1) {
    out += "\n(" + std::to_string(found.size()) + " entries differ; the next:";
    for (std::size_t i = 1; i < found.size() && i < 6; ++i) out += "\n  " + found[i];
    out += ")";
  }
  return out;
}

// The workload: tables of a few MB in postgres and in databases it creates, changed in every way
// that moves relation blocks; every choice comes from one seeded generator, so a seed replays the
// same statements (the content of a run, not its physical layout, is what a seed fixes: OIDs and
// relfilenodes depend on the server too).
class Workload {
 public:
  Workload(PgCluster& c, std::uint64_t seed, std::string tablespace)
      : c_(&c), rng_(seed), tablespace_(std::move(tablespace)) {}

  // Goes on on another server (a promoted standby of the first).
  void retarget(PgCluster& c) { c_ = &c; }

  // The starting point: three tables in postgres, one of them in the tablespace, an unlogged one,
  // and one database with a table.
  std::vector<std::string> setup() {
    c_->psql("CREATE EXTENSION IF NOT EXISTS amcheck", "template1");
    for (int i = 0; i < 3; ++i) create_table("postgres", i == 2 ? tablespace_ : "pg_default");
    create_unlogged();
    create_database("WAL_LOG", "template1", "pg_default");
    return take_log();
  }

  // n operations dealt from a shuffled deck of every kind (kKinds), so that four steps of four
  // cover each kind once whatever the seed, in the seed's order and with its tables and sizes;
  // returns what they did, one line each.
  std::vector<std::string> run(int n) {
    for (int i = 0; i < n; ++i) {
      if (deck_.empty()) {
        for (int k = 0; k < kKinds; ++k) deck_.push_back(k);
        std::shuffle(deck_.begin(), deck_.end(), rng_);
      }
      const int kind = deck_.back();
      deck_.pop_back();
      one(kind);
    }
    return take_log();
  }
  static constexpr int kKinds = 16;

 private:
  struct Table {
    std::string db;
    std::string name;
    std::string tablespace;
    int next_id = 1;
    int indexes = 0;
  };

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  Table& any_table() { return tables_[pick(static_cast<int>(tables_.size()))]; }
  std::string sql(const std::string& db, const std::string& text) {
    log_.push_back(db + ": " + text);
    return c_->psql(text, db);
  }
  std::vector<std::string> take_log() {
    std::vector<std::string> out;
    out.swap(log_);
    return out;
  }

  // rows of about 160 bytes; every 50th carries a value that goes to TOAST.
  void fill(Table& t, int rows) {
    const int first = t.next_id, last = t.next_id + rows - 1;
    t.next_id = last + 1;
    sql(t.db, "INSERT INTO " + t.name + " SELECT g, g % 1000, md5(g::text), CASE WHEN g % 50 = 0 THEN "
              "(SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 100) i) "
              "ELSE repeat('p', 100) END FROM generate_series(" + std::to_string(first) + ", " +
              std::to_string(last) + ") g");
  }

  void create_table(const std::string& db, const std::string& tablespace) {
    Table t{db, "t" + std::to_string(++names_), tablespace};
    sql(db, "CREATE TABLE " + t.name + " (id int PRIMARY KEY, k int NOT NULL, v text, pad text) WITH (fillfactor = 80) "
            "TABLESPACE " + tablespace);
    sql(db, "CREATE INDEX " + t.name + "_k ON " + t.name + " (k)");
    fill(t, 5000 + pick(15000));
    tables_.push_back(t);
  }

  void create_unlogged() {
    const std::string name = "u" + std::to_string(++names_);
    sql("postgres", "CREATE UNLOGGED TABLE " + name + " (id int, v text)");
    sql("postgres", "INSERT INTO " + name + " SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
    unlogged_.push_back(name);
  }

  // tablespace "": the template's default.
  void create_database(const std::string& strategy, const std::string& from, const std::string& tablespace) {
    const std::string db = "d" + std::to_string(++names_);
    sql("postgres", "CREATE DATABASE " + db + " TEMPLATE " + from + " STRATEGY " + strategy +
                        (tablespace.empty() ? "" : " TABLESPACE " + tablespace));
    // A copy of a user database carries its tables under the same names.
    std::vector<Table> copied;
    for (const auto& t : tables_)
      if (t.db == from) {
        Table c = t;
        c.db = db;
        copied.push_back(c);
      }
    tables_.insert(tables_.end(), copied.begin(), copied.end());
    databases_.push_back(db);
    if (copied.empty()) create_table(db, "pg_default");
  }

  void one(int kind) {
    Table& t = any_table();
    const std::string m = std::to_string(2 + pick(9)), r = std::to_string(pick(2));
    switch (kind) {
      case 0:  // HOT: v is in no index, and fillfactor 80 leaves room on the page
        sql(t.db, "UPDATE " + t.name + " SET v = md5(v) WHERE id % " + m + " = " + r);
        break;
      case 1:  // non-HOT: k is indexed
        sql(t.db, "UPDATE " + t.name + " SET k = k + 1 WHERE id % " + m + " = " + r);
        break;
      case 2:  // the tail emptied: VACUUM truncates the file
        sql(t.db, "DELETE FROM " + t.name + " WHERE id > (SELECT max(id) * 0." + std::to_string(3 + pick(6)) +
                      " FROM " + t.name + ")");
        sql(t.db, "VACUUM " + t.name);
        break;
      case 3:  // holes in the middle: free space and visibility maps change
        sql(t.db, "DELETE FROM " + t.name + " WHERE id % " + m + " = " + r);
        sql(t.db, "VACUUM " + t.name);
        break;
      case 4:
        sql(t.db, "TRUNCATE " + t.name);
        fill(t, 1000 + pick(5000));
        break;
      case 5:
        sql(t.db, "VACUUM FULL " + t.name);
        break;
      case 6:
        sql(t.db, "CLUSTER " + t.name + " USING " + t.name + "_k");
        break;
      case 7: {
        const std::string db = t.db;
        sql(db, "DROP TABLE " + t.name);
        tables_.erase(tables_.begin() + (&t - tables_.data()));
        create_table(db, pick(2) ? tablespace_ : "pg_default");
        break;
      }
      case 8:
        sql(t.db, "CREATE INDEX CONCURRENTLY " + t.name + "_v" + std::to_string(++t.indexes) + " ON " + t.name + " (v)");
        break;
      case 9:
        t.tablespace = t.tablespace == tablespace_ ? "pg_default" : tablespace_;
        sql(t.db, "ALTER TABLE " + t.name + " SET TABLESPACE " + t.tablespace);
        break;
      case 10:  // FILE_COPY copies the files and logs no block of them
      case 11: {
        if (databases_.size() >= 3) drop_database();
        // A copy of a user database keeps its template's default tablespace: PostgreSQL refuses
        // another default for a template that has files in it, as the workload's may. A
        // FILE_COPY of template1 always goes to the tablespace: files under pg_tblspc that no
        // WAL record names block by block are the hardest case for a map.
        const bool from_user = !databases_.empty() && pick(2) == 1;
        const std::string from = from_user ? databases_[pick(static_cast<int>(databases_.size()))] : "template1";
        create_database(kind == 10 ? "FILE_COPY" : "WAL_LOG", from,
                        from_user ? "" : (kind == 10 || pick(2) == 0) ? tablespace_ : "pg_default");
        break;
      }
      case 12:
        if (databases_.empty()) create_database("WAL_LOG", "template1", "pg_default");
        drop_database();
        break;
      case 13:
        if (unlogged_.empty() || pick(3) == 0)
          create_unlogged();
        else
          sql("postgres", "INSERT INTO " + unlogged_.back() + " SELECT g, md5(g::text) FROM generate_series(1, 3000) g");
        break;
      case 14: {  // SET LOGGED writes the table anew, through WAL, and the fingerprints now cover it
        if (unlogged_.empty()) create_unlogged();
        const std::string name = unlogged_.back();
        unlogged_.pop_back();
        sql("postgres", "ALTER TABLE " + name + " SET LOGGED");
        break;
      }
      case 15:  // extension: the most common change of all
        fill(t, 500 + pick(8000));
        break;
    }
  }

  void drop_database() {
    const std::size_t i = pick(static_cast<int>(databases_.size()));
    const std::string db = databases_[i];
    sql("postgres", "DROP DATABASE " + db);
    databases_.erase(databases_.begin() + static_cast<std::ptrdiff_t>(i));
    std::erase_if(tables_, [&](const Table& t) { return t.db == db; });
  }

  PgCluster* c_;  // not owned
  std::mt19937_64 rng_;
  std::string tablespace_;
  std::vector<Table> tables_;
  std::vector<std::string> unlogged_;
  std::vector<std::string> databases_;
  std::vector<std::string> log_;
  std::vector<int> deck_;
  int names_ = 0;
};

// Seeds of the seeded tests: PGDR_CHANGE_MAP_SEEDS ("7,8") replays others; the defaults are fixed so
// that CI runs the same workloads every time.
inline std::vector<std::uint64_t> change_map_seeds(std::vector<std::uint64_t> defaults) {
  const char* env = std::getenv("PGDR_CHANGE_MAP_SEEDS");
  if (env == nullptr || *env == '\0') return defaults;
  std::vector<std::uint64_t> out;
  std::istringstream in(env);
  for (std::string s; std::getline(in, s, ',');) out.push_back(std::stoull(s));
  return out;
}

class ChangeMapFixture : public PgdrTest {
 protected:
  using Clock = std::chrono::steady_clock;
  using Fingerprints = std::map<std::string, std::map<std::string, std::string>>;

  // "wal-archive" or "wal-summaries": what every snapshot by map must say it used.
  virtual std::string map_source() const = 0;

  static PgClusterOptions quiet(PgClusterOptions o) {
    // Nothing but the workload may change a page between the two snapshots compared.
    o.settings.push_back("autovacuum = off");
    return o;
  }

  void SetUp() override {
    PgdrTest::SetUp();
    started_ = Clock::now();
  }
  void TearDown() override {
    std::cout << "[ change map ] " << ::testing::UnitTest::GetInstance()->current_test_info()->name() << ": "
              << seconds_since(started_) << " s" << std::endl;
    repo_.reset();
    PgdrTest::TearDown();
  }

  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }

  const repo::Repository& repository() {
    if (!repo_)
      repo_ = std::make_unique<repo::Repository>(
          repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir_), "local", kPassphrase, "the test"));
    return *repo_;
  }

  // changes {source, reason, read_bytes, unread_blocks} of snapshot id, from pgdr info --json.
  nlohmann::json changes_of(const std::string& id) {
    auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
    for (const auto& s : info["repositories"][0]["snapshots"])
      if (s["id"] == id) return s["changes"];
    ADD_FAILURE() << "pgdr info does not list snapshot " << id;
    return {};
  }

  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.push_back(l);
    return out;
  }

  // Every table of every database that accepts connections (templates aside), by database.
  static Fingerprints fingerprints(const PgCluster& c) {
    Fingerprints out;
    for (const auto& db : lines(c.psql("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate")))
      out[db] = fingerprint(c, db);
    return out;
  }

  // A snapshot; "" when the backup failed (the failure is recorded).
  std::string snapshot(std::vector<std::string> args) {
    args.insert(args.begin(), "backup");
    std::string id = pgdr_ok(args);
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  // The first snapshot of a test: no previous one, so it reads everything.
  std::string first_snapshot() {
    const std::string id = snapshot({});
    EXPECT_EQ(changes_of(id)["source"], "full-read");
    return id;
  }

  // Steps 1 to 5 of the header after a workload: returns the id of the snapshot by map. With
  // compare false, steps 3 and 4 are left out, so the next snapshot by map builds on this one.
  std::string check_step(const std::string& label, bool compare = true) {
    SCOPED_TRACE(label);
    const auto t0 = Clock::now();
    const Fingerprints expected = fingerprints(*cluster_);

    const std::string by_map = snapshot({});
    if (by_map.empty()) return "";
    const auto changes = changes_of(by_map);
    // A snapshot that fell back to reading everything would pass the comparison below whatever
    // the maps do: the fallback itself is the failure.
    EXPECT_EQ(changes["source"], map_source())
        << label << ": snapshot " << by_map << " did not use a change map: " << changes.dump();
    if (changes["source"] == map_source()) {
      EXPECT_EQ(changes["reason"], "") << changes.dump();
      EXPECT_GT(changes["unread_blocks"].get<std::uint64_t>(), 0u)
          << label << ": a snapshot by map that reads every block proves nothing: " << changes.dump();
    }

    if (compare) {
      const std::string full = snapshot({"--full-read"});
      if (full.empty()) return by_map;
      const auto full_changes = changes_of(full);
      EXPECT_EQ(full_changes["source"], "full-read") << full_changes.dump();
      EXPECT_EQ(full_changes["reason"], "--full-read") << full_changes.dump();
      const std::string diff = first_difference(read_manifest_files(repository(), by_map), read_manifest_files(repository(), full));
      EXPECT_EQ(diff, "") << label << ": the snapshot by map " << by_map << " (" << changes.dump()
                          << ") differs from the full read " << full << " of the quiet server:\n"
                          << diff << "\n" << relation_of(diff.substr(0, diff.find(':')));
    }

    expect_restores(by_map, expected, label);
    std::cout << "[ change map ] " << label << ": " << by_map << " (" << changes.dump() << ") checked in "
              << seconds_since(t0) << " s" << std::endl;
    return by_map;
  }

  // What a differing manifest path is in the source: "relation public.t1 of database postgres",
  // for the failure message (best effort: "" when the path names no relation the source has).
  std::string relation_of(const std::string& path) const {
    std::vector<std::string> parts;
    std::istringstream in(path);
    for (std::string p; std::getline(in, p, '/');) parts.push_back(p);
    std::string spc = "0", db, file;
    if (parts.size() == 3 && parts[0] == "base") {
      db = parts[1];
      file = parts[2];
    } else if (parts.size() == 2 && parts[0] == "global") {
      spc = "1664";
      file = parts[1];
    } else if (parts.size() == 5 && parts[0] == "pg_tblspc") {
      spc = parts[1];
      db = parts[3];
      file = parts[4];
    } else {
      return "";
    }
    const std::string filenode = file.substr(0, file.find_first_of("._"));
    if (filenode.empty() || filenode.find_first_not_of("0123456789") != std::string::npos) return "";
    try {
      const std::string datname =
          db.empty() ? "postgres" : cluster_->psql("SELECT datname FROM pg_database WHERE oid = " + db);
      if (datname.empty()) return "(a file of database oid " + db + ", which the source no longer has)";
      const std::string rel = cluster_->psql(
          "SELECT coalesce(pg_filenode_relation(" + spc + ", " + filenode + ")::text, '')", datname);
      if (rel.empty()) return "(no relation of database " + datname + " has filenode " + filenode + " now)";
      return "(relation " + rel + " of database " + datname + "; a segment holds 131072 blocks of 8 KiB)";
    } catch (const std::exception& e) {
      return std::string("(unable to name the relation: ") + e.what() + ")";
    }
  }

  // Restores snapshot id to its end (--immediate), promoted, with every tablespace mapped beside
  // it; the copy's tables equal expected and pg_amcheck finds nothing. The copy is removed after.
  void expect_restores(const std::string& id, const Fingerprints& expected, const std::string& label) {
    const std::string dir = work_->file("restored-" + std::to_string(++restores_));
    std::vector<std::string> args = {"restore", "--target-dir", dir, "--snapshot", id, "--immediate", "--target-action", "promote"};
    std::vector<std::string> tablespace_dirs;
    for (const auto& oid : lines(cluster_->psql("SELECT oid FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global')"))) {
      tablespace_dirs.push_back(dir + "-ts-" + oid);
      args.insert(args.end(), {"--tablespace-map", oid + "=" + tablespace_dirs.back()});
    }
    auto r = pgdr(args);
    ASSERT_EQ(r.exit_code, 0) << label << ": restore of " << id << ": " << r.err;
    {
      PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
      wait_recovered(restored);
      EXPECT_EQ(fingerprints(restored), expected) << label << ": the copy restored from " << id << " differs from the source";
      // --install-missing: amcheck is created where the workload's databases lack it.
      auto amcheck = PgCluster::run_as_server_user({PgCluster::bin("pg_amcheck"), "--heapallindexed", "--install-missing",
                                                    "--all", "-h", "127.0.0.1", "-p", std::to_string(restored.port())});
      EXPECT_EQ(amcheck.exit_code, 0) << label << ": pg_amcheck on the copy of " << id << ":\n" << amcheck.out << amcheck.err;
    }
    // Each copy is as large as the source: keep one at a time.
    std::filesystem::remove_all(dir);
    for (const auto& d : tablespace_dirs) std::filesystem::remove_all(d);
  }

  // A seeded run: setup, a first snapshot, then `steps` workloads of four operations each, every
  // one checked; the second snapshot by map is built on the first (no full read between), so one
  // map in each run starts at a snapshot that was itself made by map.
  void run_seeded(std::uint64_t seed, int steps) {
    std::cout << "[ change map ] seed " << seed << " (PGDR_CHANGE_MAP_SEEDS=" << seed << " replays it)" << std::endl;
    Workload w(*cluster_, seed, "ts_a");
    cluster_->psql("CREATE TABLESPACE ts_a LOCATION '" + work_->make_dir("ts_a") + "'");
    pgdr_ok({"init"});
    auto print = [&](const std::string& step, const std::vector<std::string>& ops) {
      for (const auto& op : ops) std::cout << "[ change map ] seed " << seed << " " << step << ": " << op << std::endl;
    };
    print("setup", w.setup());
    first_snapshot();
    for (int step = 1; step <= steps && !HasFatalFailure(); ++step) {
      const std::string label = "seed " + std::to_string(seed) + " step " + std::to_string(step);
      print("step " + std::to_string(step), w.run(4));
      check_step(label, step != 1);
    }
  }

 private:
  std::unique_ptr<repo::Repository> repo_;
  Clock::time_point started_;
  int restores_ = 0;
};

}  // namespace pgdr::test
