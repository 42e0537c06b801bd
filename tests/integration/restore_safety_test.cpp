// What a restore must never destroy, built for real against running servers: a running cluster's
// data directory and tablespaces (with and without --delta, with and without a mapping), a
// directory that holds something else, another cluster's data directory, the work of a second
// restore into the same target; and where a repository must never live.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "harness/background_process.h"
#include "io/sha256.h"
#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

class RestoreSafetyTest : public PgdrTest {
 protected:
  // Autovacuum off: nothing rewrites the source's files between two looks at them.
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = with_passphrase({});
    o.settings.push_back("autovacuum = off");
    return o;
  }

  // Every entry under dir: files by size and SHA-256, links by target, directories by name.
  static std::map<std::string, std::string> tree(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      std::string rel = fs::relative(e.path(), dir);
      if (e.is_symlink()) {
        out[rel] = "-> " + fs::read_symlink(e.path()).string();
      } else if (e.is_directory()) {
        out[rel] = "dir";
      } else {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string data = ss.str();
        out[rel] = std::to_string(data.size()) + " " +
                   to_hex(io::Sha256::of(ByteView(reinterpret_cast<const std::uint8_t*>(data.data()), data.size())));
      }
    }
    return out;
  }

  static void expect_one_line(const PgdrResult& r) {
    EXPECT_TRUE(r.err.starts_with("pgdr: ")) << r.err;
    auto lines = std::count(r.err.begin(), r.err.end(), '\n');
    EXPECT_LE(lines, 2) << r.err;
    if (lines == 2) {
      EXPECT_NE(r.err.find("\nHINT: "), std::string::npos) << r.err;
    }
  }

  // A tablespace "extra" at ts_dir holding table docs (5000 rows), a snapshot, and a checkpoint so
  // that the files on disk stay as they are while the test looks. Returns the tablespace's oid.
  std::string primary_with_tablespace(const std::string& ts_dir) {
    cluster_->psql("CREATE TABLESPACE extra LOCATION '" + ts_dir + "'");
    cluster_->psql(
        "CREATE TABLE docs (id int PRIMARY KEY, v text) TABLESPACE extra;"
        "INSERT INTO docs SELECT g, md5(g::text) FROM generate_series(1, 5000) g; CHECKPOINT;");
    pgdr_ok({"init"});
    backup();
    cluster_->psql("SELECT count(*) FROM docs; CHECKPOINT;");
    return cluster_->psql("SELECT oid FROM pg_tablespace WHERE spcname = 'extra'");
  }

  std::string running_pid() const { return "postmaster pid " + std::to_string(cluster_->postmaster_pid()); }

  // Waits until the restore run by p holds the lock of the target whose lock file is lock_file.
  static bool wait_for_lock(BackgroundProcess& p, const std::string& lock_file) {
    const std::string holder = "pid=" + std::to_string(p.pid());
    for (int i = 0; i < 60000 && p.running(); ++i) {
      std::ifstream in(lock_file);
      std::string line;
      if (std::getline(in, line) && line == holder) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return false;
  }

  BackgroundProcess restore_in_background(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv = {pgdr_path(), "--config", config_, "restore"};
    argv.insert(argv.end(), args.begin(), args.end());
    return BackgroundProcess(argv, {std::string("PGDR_PASSPHRASE=") + kPassphrase}, work_->file(log));
  }

  void big_table() {
    cluster_->psql(
        "CREATE TABLE t (id int PRIMARY KEY, v text);"
        "INSERT INTO t SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 300000) g; CHECKPOINT;");
  }
};

// Finding 1: on the primary's host, a snapshot with a tablespace and no --tablespace-map used to
// be restored with --delta into the running primary's own tablespace, rewriting and pruning it.
TEST_F(RestoreSafetyTest, DeltaWithoutMapRefusesTheRunningPrimarysTablespace) {
  std::string ts = work_->make_dir("primary-ts");
  std::string oid = primary_with_tablespace(ts);
  const auto before = tree(ts);
  ASSERT_GE(before.size(), 3u);
  for (bool delta : {true, false}) {
    std::string target = work_->file(delta ? "new-copy-delta" : "new-copy");
    std::vector<std::string> args = {"restore", "--target-dir", target};
    if (delta) args.push_back("--delta");
    auto r = pgdr(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("pgdr: refusing to restore tablespace " + oid + " into a running cluster's files: " + ts +
                         " (a tablespace location of the running cluster with " + running_pid()),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("HINT: map it elsewhere with --tablespace-map " + oid + "=DIR"), std::string::npos) << r.err;
    expect_one_line(r);
    EXPECT_FALSE(fs::exists(target)) << "refused before anything was written";
    EXPECT_EQ(tree(ts), before) << "the primary's tablespace changed";
  }
  EXPECT_EQ(cluster_->psql("SELECT count(*) || ':' || md5(string_agg(v, ',' ORDER BY id)) FROM docs"),
            "5000:" + cluster_->psql("SELECT md5(string_agg(md5(g::text), ',' ORDER BY g)) FROM generate_series(1, 5000) g"));
}

// A mapping, or the target itself, inside a running cluster's data directory or tablespace is
// refused with and without --delta; a cluster named nowhere (not the source, not an ancestor of a
// path) is found in the process table.
TEST_F(RestoreSafetyTest, PathsInsideRunningClustersAreRefused) {
  std::string ts = work_->make_dir("primary-ts");
  std::string oid = primary_with_tablespace(ts);
  const std::string pgdata = cluster_->data_dir();
  const auto data_before = tree(pgdata + "/base");

  std::string inside = pgdata + "/ts-copy";
  auto r = pgdr({"restore", "--target-dir", work_->file("copy"), "--tablespace-map", oid + "=" + inside});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing to restore tablespace " + oid + " into a running cluster's files: " + inside +
                       " (inside the data directory " + pgdata + " of the running cluster with " + running_pid() + ")"),
            std::string::npos)
      << r.err;
  expect_one_line(r);
  EXPECT_FALSE(fs::exists(inside));

  r = pgdr({"restore", "--delta", "--target-dir", work_->file("copy"), "--tablespace-map", oid + "=" + pgdata});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing to restore tablespace " + oid + " into a running cluster's files: " + pgdata +
                       " (the data directory of the running cluster with " + running_pid() + ")"),
            std::string::npos)
      << r.err;

  for (bool delta : {false, true}) {
    std::string target = pgdata + "/restored";
    std::vector<std::string> args = {"restore", "--target-dir", target, "--tablespace-map", oid + "=" + work_->file("ts-copy")};
    if (delta) args.push_back("--delta");
    r = pgdr(args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("refusing to restore into a running cluster's files: " + target + " (inside the data directory " +
                         pgdata + " of the running cluster with " + running_pid() + ")"),
              std::string::npos)
        << r.err;
    expect_one_line(r);
    EXPECT_FALSE(fs::exists(target));
  }

  // Another running cluster, which neither the configuration nor any path's parents name.
  std::string other_ts = work_->make_dir("other-ts");
  PgCluster other(with_passphrase({}));
  other.psql("CREATE TABLESPACE elsewhere LOCATION '" + other_ts + "'; CREATE TABLE kept (x int) TABLESPACE elsewhere;"
             "INSERT INTO kept VALUES (1); CHECKPOINT;");
  const auto other_before = tree(other_ts);
  r = pgdr({"restore", "--delta", "--target-dir", work_->file("copy"), "--tablespace-map", oid + "=" + other_ts});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing to restore tablespace " + oid + " into a running cluster's files: " + other_ts +
                       " (a tablespace location of the running cluster with postmaster pid " +
                       std::to_string(other.postmaster_pid()) + " at " + other.data_dir() + ")"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(tree(other_ts), other_before);
  EXPECT_EQ(other.psql("SELECT count(*) FROM kept"), "1");
  EXPECT_EQ(tree(pgdata + "/base"), data_before);

  // Mapped apart from every running cluster, the same snapshot restores.
  pgdr_ok({"restore", "--target-dir", work_->file("copy"), "--tablespace-map", oid + "=" + work_->file("ts-copy")});
  EXPECT_TRUE(fs::exists(work_->file("copy/global/pg_control")));
  EXPECT_FALSE(fs::exists(work_->file("copy/pgdr-restore.lock")));
}

// Finding 3: --delta onto a directory that holds no PostgreSQL data used to delete its files.
TEST_F(RestoreSafetyTest, DeltaOntoADirectoryWithoutPostgresDataIsRefused) {
  pgdr_ok({"init"});
  backup();
  std::string target = work_->make_dir("documents");
  work_->write_file("documents/thesis.txt", "four years of work");
  work_->make_dir("documents/notes");
  work_->write_file("documents/notes/a.txt", "a");
  const auto before = tree(target);
  auto r = pgdr({"restore", "--delta", "--target-dir", target});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pgdr: refusing --delta into a directory that is not this cluster's: " + target +
                       " (not empty, and not a PostgreSQL data directory: no PG_VERSION or global/pg_control)\n"
                       "HINT: --delta brings in line only an empty directory or a data directory of the snapshot's own "
                       "cluster"),
            std::string::npos)
      << r.err;
  expect_one_line(r);
  EXPECT_EQ(tree(target), before);
}

// --delta onto another cluster's data directory (another system identifier) is refused and leaves
// it startable; onto an empty directory it restores.
TEST_F(RestoreSafetyTest, DeltaOntoAnotherClustersDataDirectoryIsRefused) {
  pgdr_ok({"init"});
  backup();
  std::string mine = cluster_->psql("SELECT system_identifier FROM pg_control_system()");
  PgCluster other(with_passphrase({}));
  other.psql("CREATE TABLE precious AS SELECT 42 AS answer; CHECKPOINT;");
  std::string theirs = other.psql("SELECT system_identifier FROM pg_control_system()");
  ASSERT_NE(mine, theirs);
  other.stop();
  const auto before = tree(other.data_dir());
  auto r = pgdr({"restore", "--delta", "--target-dir", other.data_dir()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing --delta into a directory that is not this cluster's: " + other.data_dir() +
                       " (a data directory of another cluster: system identifier " + theirs + ", the snapshot's is " +
                       mine + ")"),
            std::string::npos)
      << r.err;
  expect_one_line(r);
  EXPECT_EQ(tree(other.data_dir()), before);
  other.start();
  EXPECT_EQ(other.psql("SELECT answer FROM precious"), "42");

  std::string empty = work_->make_dir("empty");
  pgdr_ok({"restore", "--delta", "--target-dir", empty});
  EXPECT_TRUE(fs::exists(empty + "/global/pg_control"));
}

// Finding 2: two --delta restores into one target both ran and left a mix. The first holds the
// target's lock for its whole run (stopped mid-run here, so the overlap is certain); the second is
// refused as locked, naming the holder; the first then completes.
TEST_F(RestoreSafetyTest, SecondRestoreIntoOneTargetIsRefusedAsLocked) {
  big_table();
  pgdr_ok({"init"});
  backup();
  auto expected = fingerprint(*cluster_);
  std::string target = work_->file("copy");
  pgdr_ok({"restore", "--target-dir", target});
  {
    PgCluster copy(PgCluster::Adopt{target}, with_passphrase({}));
    wait_recovered(copy);
    copy.psql("UPDATE t SET v = 'changed' WHERE id % 7 = 0; CHECKPOINT;");
    copy.stop();
  }
  const std::string lock_file = target + "/pgdr-restore.lock";
  BackgroundProcess first = restore_in_background({"--delta", "--process-max", "1", "--target-dir", target}, "first.log");
  ASSERT_TRUE(wait_for_lock(first, lock_file)) << "the first restore never held the lock:\n" << first.log();
  ASSERT_EQ(kill(first.pid(), SIGSTOP), 0);
  auto second = pgdr({"restore", "--delta", "--target-dir", target});
  ASSERT_EQ(kill(first.pid(), SIGCONT), 0);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("pgdr: restore target is locked: " + target + " (another restore writes it, pid " +
                            std::to_string(first.pid()) + ")\nHINT: "),
            std::string::npos)
      << second.err;
  expect_one_line(second);
  for (int i = 0; i < 1200 && first.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(first.running());
  EXPECT_EQ(first.exit_code(), 0) << first.log();
  EXPECT_FALSE(fs::exists(lock_file));
  PgCluster copy(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(copy);
  EXPECT_EQ(fingerprint(copy), expected);
}

// A restore killed after it began to write leaves no pg_control, and its lock file marks the
// directory as an unfinished restore of this cluster: a plain restore finds it not empty, --delta
// of the same cluster completes it.
TEST_F(RestoreSafetyTest, KilledRestoreIsCompletedByDelta) {
  big_table();
  pgdr_ok({"init"});
  backup();
  auto expected = fingerprint(*cluster_);
  std::string target = work_->file("copy");
  const std::string lock_file = target + "/pgdr-restore.lock";
  {
    BackgroundProcess killed = restore_in_background({"--process-max", "1", "--target-dir", target}, "killed.log");
    ASSERT_TRUE(wait_for_lock(killed, lock_file)) << killed.log();
    // Killed once it has begun to write files (largest first), well before pg_control, its last.
    auto wrote_a_file = [&] {
      std::error_code ec;
      for (fs::recursive_directory_iterator it(target + "/base", ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file()) return true;
      return false;
    };
    for (int i = 0; i < 20000 && killed.running() && !wrote_a_file(); ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    killed.kill9();
  }
  ASSERT_FALSE(fs::exists(target + "/global/pg_control")) << "the restore ended before it was killed";
  ASSERT_TRUE(fs::exists(lock_file));
  auto plain = pgdr({"restore", "--target-dir", target});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_NE(plain.err.find("refusing to restore into a non-empty directory: " + target), std::string::npos) << plain.err;
  auto r = pgdr({"restore", "--delta", "--target-dir", target});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(lock_file));
  PgCluster copy(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(copy);
  EXPECT_EQ(fingerprint(copy), expected);
}

// Finding 4: a repository inside the cluster's data directory (or a tablespace) was accepted and
// every backup copied it into itself.
TEST_F(RestoreSafetyTest, RepositoryInsideTheClusterIsRefused) {
  const std::string pgdata = cluster_->data_dir();
  const std::string outside = repo_dir_;
  repo_dir_ = pgdata + "/pgdr-repo";
  write_config();
  auto r = pgdr({"init"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("pgdr: refusing repository 'local' inside the cluster's files: " + repo_dir_ +
                       " (inside [cluster] pgdata " + pgdata + ", so every backup would copy the repository into itself)"),
            std::string::npos)
      << r.err;
  expect_one_line(r);
  EXPECT_FALSE(fs::exists(repo_dir_));

  // One made elsewhere and moved in: backup refuses it and writes nothing.
  repo_dir_ = outside;
  write_config();
  pgdr_ok({"init"});
  fs::rename(outside, pgdata + "/pgdr-repo");
  repo_dir_ = pgdata + "/pgdr-repo";
  write_config();
  r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refusing repository 'local' inside the cluster's files: " + repo_dir_ + " (inside [cluster] pgdata " +
                       pgdata + ","),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(!fs::exists(repo_dir_ + "/snapshots") || fs::is_empty(repo_dir_ + "/snapshots"));

  // Inside a tablespace, reached through a symbolic link.
  std::string ts = work_->make_dir("ts");
  cluster_->psql("CREATE TABLESPACE extra LOCATION '" + ts + "'");
  std::string oid = cluster_->psql("SELECT oid FROM pg_tablespace WHERE spcname = 'extra'");
  fs::create_directory_symlink(ts, work_->file("ts-link"));
  repo_dir_ = work_->file("ts-link/repo");
  write_config();
  r = pgdr({"init"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refusing repository 'local' inside the cluster's files: " + repo_dir_ + " (inside tablespace " +
                       oid + " at " + ts + ","),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(ts + "/repo"));
}

// Finding 5: two [[repo]] sections with one path (here spelled differently) gave "locked by backup"
// with the pid of the backup itself; they are refused when the configuration is read.
class DuplicateRepoPathTest : public RestoreSafetyTest {
 protected:
  std::string repo_toml() override {
    return "[[repo]]\nname = \"local\"\npath = \"" + repo_dir_ + "\"\n[[repo]]\nname = \"copy\"\npath = \"" + repo_dir_ +
           "/./\"\n";
  }
};

TEST_F(DuplicateRepoPathTest, RefusedWhenTheConfigurationIsRead) {
  for (const char* cmd : {"init", "backup", "info"}) {
    auto r = pgdr({cmd});
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.err.find("pgdr: invalid configuration: " + config_ + ":"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(repositories 'local' and 'copy' have one path: " + repo_dir_ + ")"), std::string::npos) << r.err;
    expect_one_line(r);
  }
  EXPECT_FALSE(fs::exists(repo_dir_ + "/pgdr.repo"));
}

}  // namespace
}  // namespace pgdr::test
