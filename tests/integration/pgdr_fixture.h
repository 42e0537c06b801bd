// A source cluster, a repository directory and a configuration file for one test, plus helpers to
// run pgdr against them and to compare a restored cluster with its source. The cluster is
// PostgreSQL 15 unless cluster_options() names another major (the matrix tests do); the
// configuration then names that major's server programs in [cluster] pg_bindir.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "harness/pg_cluster.h"
#include "harness/pgdr_runner.h"
#include "harness/server_user.h"
#include "harness/temp_dir.h"
#include "report_schema.h"

namespace pgdr::test {

inline constexpr const char* kPassphrase = "correct horse battery staple 7f3a";

// A whole file as bytes in a string ("" when it cannot be read).
inline std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class PgdrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = std::make_unique<TempDir>("pgdr-it");
    cluster_ = std::make_unique<PgCluster>(cluster_options());
    repo_dir_ = work_->file("repo");
    // Each test its own catalog: the default one is shared by every run on the machine, and what
    // one test's verify remembers as verified would make another's skip its objects.
    pgdr_env_.push_back("PGDR_CATALOG=" + work_->file("catalog.db"));
    write_config();
  }
  void TearDown() override {
    cluster_.reset();
    work_.reset();
  }

  virtual PgClusterOptions cluster_options() { return with_passphrase({}); }

  // The server runs pgdr too (archive_command, restore_command): it needs the passphrase.
  static PgClusterOptions with_passphrase(PgClusterOptions o) {
    o.server_env.push_back(std::string("PGDR_PASSPHRASE=") + kPassphrase);
    return o;
  }

  // o with the passphrase and archive_command = pgdr archive-push into the test's repository.
  PgClusterOptions archiving(PgClusterOptions o) {
    o = with_passphrase(std::move(o));
    o.archive_command = pgdr_path() + " --config " + work_->file("pgdr.toml") + " archive-push %p";
    return o;
  }

  // The [[repo]] section of the configuration: the local directory repo_dir_, unless a test
  // overrides it (an S3 repository, say).
  virtual std::string repo_toml() { return "[[repo]]\nname = \"local\"\npath = \"" + repo_dir_ + "\"\n"; }

  void write_config(const std::string& extra = "") {
    config_ = work_->write_file("pgdr.toml",
                                "[cluster]\nname = \"test\"\npgdata = \"" + cluster_->data_dir() + "\"\nconninfo = \"" +
                                    cluster_->conninfo() + "\"\n" + pg_bindir_toml(*cluster_) + repo_toml() +
                                    "[key]\npassphrase_env = \"PGDR_PASSPHRASE\"\n[backup]\nprocess_max = 2\n" + extra);
  }

  // pgdr finds 15's server programs where Debian puts them; another major's are named.
  static std::string pg_bindir_toml(const PgCluster& c) {
    if (c.major() == PgCluster::kDefaultMajor) return "";
    return "pg_bindir = \"" + PgCluster::server_bindir(c.major()) + "\"\n";
  }

  PgdrResult pgdr(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), {"--config", config_});
    bool has_pass = false;
    for (const auto& e : env) has_pass |= e.starts_with("PGDR_PASSPHRASE=");
    if (!has_pass) env.push_back(std::string("PGDR_PASSPHRASE=") + kPassphrase);
    env.insert(env.begin(), pgdr_env_.begin(), pgdr_env_.end());
    PgdrResult r = run_pgdr(args, env);
    // Every `info --json` a test runs also checks the output against its documented schema.
    if (std::find(args.begin(), args.end(), "info") != args.end() &&
        std::find(args.begin(), args.end(), "--json") != args.end() && !r.out.empty()) {
      EXPECT_EQ(report_text_schema_errors("info", r.out), "") << r.out;
    }
    return r;
  }

  // Runs pgdr and expects exit 0; returns stdout.
  std::string pgdr_ok(std::vector<std::string> args) {
    auto r = pgdr(args);
    EXPECT_EQ(r.exit_code, 0) << "pgdr " << testing::PrintToString(args) << "\nstdout: " << r.out << "\nstderr: " << r.err;
    return r.out;
  }

  // A restored cluster accepts read-only connections while it recovers: wait until recovery has
  // ended (promotion) before reading or writing what the test compares.
  static void wait_recovered(const PgCluster& c, int timeout_seconds = 120) {
    for (int i = 0; i < timeout_seconds * 10; ++i) {
      if (c.psql("SELECT pg_is_in_recovery()") == "f") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the cluster on port " << c.port() << " was still in recovery after " << timeout_seconds << " s";
  }

  // Switches c to a new WAL segment and waits until its archiver has stored everything before it.
  void archive_now(PgCluster& c) {
    // A server exactly at the start of a segment (pg_backup_stop's own switch, nothing written since)
    // does not switch: pg_switch_wal returns that start, which names the segment in use; the one to
    // wait for is the one before it.
    std::string seg = c.psql(
        "SELECT pg_walfile_name(CASE WHEN (l - '0/0'::pg_lsn) % pg_size_bytes(current_setting('wal_segment_size')) = 0 "
        "THEN l - 1 ELSE l END) FROM (SELECT pg_switch_wal() AS l) s");
    // Files the server marked ready are archived in its own order, not by name: a backup history
    // file (pg_backup_stop's, which pgdr does not wait for) can follow a later segment. So wait
    // for nothing to be left ready too, or it lands in the repository after this returns.
    const std::string done = "SELECT coalesce(last_archived_wal, '') >= '" + seg +
                             "' AND NOT EXISTS (SELECT 1 FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') "
                             "FROM pg_stat_archiver";
    for (int i = 0; i < 600; ++i) {
      if (c.psql(done) == "t") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "segment " << seg << " was not archived in time, or files marked ready to archive were left\n"
           << c.log().substr(c.log().size() > 3000 ? c.log().size() - 3000 : 0);
  }

  // Restores (to target, promoting when one is given; to the end of the archive otherwise), starts
  // the copy with the servers of its own major, and returns what sql prints there.
  std::string restore_and_query(const std::vector<std::string>& target, const std::string& sql) {
    static int n = 0;
    std::string dir = work_->file("pitr-" + std::to_string(++n));
    std::vector<std::string> args = {"restore", "--target-dir", dir};
    args.insert(args.end(), target.begin(), target.end());
    bool has_target = false;
    for (const auto& a : target) has_target |= a == "--time" || a == "--lsn" || a == "--xid" || a == "--name" || a == "--immediate";
    if (has_target) args.insert(args.end(), {"--target-action", "promote"});
    auto r = pgdr(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return "<restore failed>";
    PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(restored);
    return restored.psql(sql);
  }

  // pg_amcheck (Debian's 15, which checks every major) over every database of c, indexes included.
  static ProcessResult pg_amcheck(const PgCluster& c) {
    return c.run_as_server_user(
        {PgCluster::bin("pg_amcheck"), "--heapallindexed", "--all", "-h", "127.0.0.1", "-p", std::to_string(c.port())});
  }

  // pgbench (Debian's 15) against the postgres database of c, e.g. {"-i", "-s", "2"}.
  static ProcessResult pgbench(const PgCluster& c, std::vector<std::string> args) {
    std::vector<std::string> argv = {PgCluster::bin("pgbench")};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-h", "127.0.0.1", "-p", std::to_string(c.port()), "postgres"});
    return c.run_as_server_user(argv);
  }

  std::string backup() {
    std::string out = pgdr_ok({"backup"});
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // What `pgdr info --json` says of snapshot id in the first repository.
  nlohmann::json snapshot_info(const std::string& id) {
    const auto all = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
    for (const auto& s : all["repositories"][0]["snapshots"])
      if (s["id"] == id) return s;
    ADD_FAILURE() << "no snapshot " << id << " in " << all.dump();
    return {};
  }

  // Every user table's row count and content digest (rows sorted by their text form).
  static std::map<std::string, std::string> fingerprint(const PgCluster& c, const std::string& db = "postgres") {
    std::string tables = c.psql(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r','m') AND n.nspname NOT IN ('pg_catalog','information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' AND c.relpersistence = 'p' ORDER BY 1",
        db);
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start < tables.size()) {
      std::size_t end = tables.find('\n', start);
      if (end == std::string::npos) end = tables.size();
      std::string t = tables.substr(start, end - start);
      start = end + 1;
      if (t.empty()) continue;
      out[t] = c.psql("SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM " + t +
                          " x",
                      db);
    }
    out["<large objects>"] = c.psql(
        "SELECT count(*) || ':' || coalesce(md5(string_agg(loid || '/' || pageno || '/' || md5(data), ',' ORDER BY "
        "loid, pageno)), '') FROM pg_largeobject",
        db);
    return out;
  }

  std::unique_ptr<TempDir> work_;
  std::unique_ptr<PgCluster> cluster_;
  std::string repo_dir_;
  std::string config_;
  // "K=V" given to every pgdr run (before the test's own, which win), e.g. S3 credentials.
  std::vector<std::string> pgdr_env_;
};

}  // namespace pgdr::test
