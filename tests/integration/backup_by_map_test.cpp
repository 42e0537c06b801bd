// Snapshots that read only what changed (docs/commands/backup.md, "What a snapshot reads"), on a
// real PostgreSQL 15 whose archive_command is pgdr archive-push: the first snapshot reads
// everything, the next one reads by the archive's block summaries, restores with --immediate
// (no later WAL could mend a block the map missed) to the source's content, and every reason for
// a full read is said.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pgdr_fixture.h"
#include "recorded_blocks.h"

namespace pgdr::test {
namespace {

class BackupByMapTest : public PgdrTest {
 protected:
  PgClusterOptions cluster_options() override {
    auto o = archiving({});
    o.settings.push_back("autovacuum = off");
    return o;
  }
  void SetUp() override {
    PgdrTest::SetUp();
    pgdr_ok({"init"});
  }

  std::string backup_with(std::vector<std::string> args, std::string* err = nullptr) {
    args.insert(args.begin(), "backup");
    auto r = pgdr(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (err) *err = r.err;
    std::string id = r.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }
};

TEST_F(BackupByMapTest, ReadsOnlyChangedBlocksAndRestoresImmediate) {
  ASSERT_EQ(pgbench(*cluster_, {"-i", "-s", "4", "-q"}).exit_code, 0);
  cluster_->psql("CREATE EXTENSION amcheck");
  std::string err;
  std::string first = backup_with({}, &err);
  auto i1 = snapshot_info(first);
  EXPECT_EQ(i1["changes"]["source"], "full-read");
  EXPECT_NE(i1["changes"]["reason"].get<std::string>().find("no previous snapshot"), std::string::npos);
  EXPECT_NE(err.find("full read (no previous snapshot"), std::string::npos) << err;

  // About 1% of the accounts' pages, a new table, and a dropped one.
  cluster_->psql("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 6000 = 0");
  cluster_->psql("CREATE TABLE added AS SELECT g FROM generate_series(1, 5000) g");
  cluster_->psql("DROP TABLE pgbench_history");
  archive_now(*cluster_);
  std::string second = backup_with({}, &err);
  auto i2 = snapshot_info(second);
  EXPECT_EQ(i2["changes"]["source"], "wal-archive") << i2["changes"].dump();
  EXPECT_EQ(i2["changes"]["reason"], "");
  EXPECT_NE(err.find("changes from wal-archive"), std::string::npos) << err;
  const auto read = i2["changes"]["read_bytes"].get<std::uint64_t>();
  const auto size = i2["size_bytes"].get<std::uint64_t>();
  EXPECT_LT(read * 4, size) << "read " << read << " of " << size;
  EXPECT_GT(i2["changes"]["unread_blocks"].get<std::uint64_t>(), 5000u);
  auto expected = fingerprint(*cluster_);

  // No WAL after the snapshot's own: a block the map missed would stay wrong.
  std::string dir = work_->file("immediate");
  auto r = pgdr({"restore", "--target-dir", dir, "--snapshot", second, "--immediate", "--target-action", "promote"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), expected);
  auto check = pg_amcheck(restored);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // verify --full proves every block of the snapshot by map, digests included.
  auto v = pgdr({"verify", "--full"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// A table rewritten since the previous snapshot (VACUUM FULL: a new file the map cannot vouch
// for) is read whole by the snapshot by map, in pieces both workers take, like a full read.
TEST_F(BackupByMapTest, ARewrittenTableIsReadWholeInPiecesAndRecordedInFileOrder) {
  cluster_->psql(
      "CREATE TABLE big (id int, payload text);"
      "INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 1000000) g;"
      "VACUUM FREEZE big; CHECKPOINT;");
  backup_with({});
  cluster_->psql("DELETE FROM big WHERE id % 20 = 0; VACUUM FULL big; CHECKPOINT;");
  const std::string rel = cluster_->psql("SELECT pg_relation_filepath('big')");
  const auto rel_bytes = std::stoull(cluster_->psql("SELECT pg_relation_size('big')"));
  ASSERT_GT(rel_bytes, 3ull * (32u << 20)) << "the table must span more than three pieces";
  ASSERT_LT(rel_bytes, 1ull << 30) << "one segment file";
  archive_now(*cluster_);

  auto b = pgdr({"-v", "backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string second = b.out.substr(0, b.out.find('\n'));
  auto info = snapshot_info(second);
  EXPECT_EQ(info["changes"]["source"], "wal-archive") << info["changes"].dump();
  EXPECT_GE(pieces_logged(b.err, rel), 4) << b.err;
  EXPECT_GE(info["changes"]["read_bytes"].get<std::uint64_t>(), rel_bytes);

  expect_recorded_as_on_disk(repo_dir_, second, cluster_->data_dir(), rel, rel_bytes);

  auto expected = fingerprint(*cluster_);
  std::string dir = work_->file("rewritten");
  auto restore = pgdr({"restore", "--target-dir", dir, "--snapshot", second, "--immediate", "--target-action", "promote"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), expected);
  auto v = pgdr({"verify", "--full"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(BackupByMapTest, EveryFullReadSaysWhy) {
  backup_with({});
  cluster_->psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  archive_now(*cluster_);

  std::string err;
  std::string forced = backup_with({"--full-read"}, &err);
  EXPECT_EQ(snapshot_info(forced)["changes"]["reason"], "--full-read");
  EXPECT_NE(err.find("full read (--full-read)"), std::string::npos) << err;

  // A full read at most this old: every snapshot reads everything.
  write_config("full_read_every = \"1ms\"\n");
  std::string aged = backup_with({});
  EXPECT_NE(snapshot_info(aged)["changes"]["reason"].get<std::string>().find("the last full read was"),
            std::string::npos);

  // The archive loses a segment the range needs: no map, and the reason names it.
  write_config("full_read_every = \"0s\"\n");
  cluster_->psql("INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
  archive_now(*cluster_);
  std::string with_map = backup_with({});
  ASSERT_EQ(snapshot_info(with_map)["changes"]["source"], "wal-archive");
  cluster_->psql("INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
  std::string gone = cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
  archive_now(*cluster_);
  std::string tl = gone.substr(0, 8);
  std::filesystem::remove(repo_dir_ + "/wal/" + tl + "/" + gone);
  std::filesystem::remove(repo_dir_ + "/wal/" + tl + "/" + gone + ".summary");
  // pg_wal no longer holds it either once a checkpoint has recycled it.
  cluster_->psql("CHECKPOINT");
  cluster_->psql("SELECT pg_switch_wal()");
  cluster_->psql("CHECKPOINT");
  ASSERT_FALSE(std::filesystem::exists(cluster_->data_dir() + "/pg_wal/" + gone)) << "the server still holds " << gone;
  std::string after = backup_with({}, &err);
  auto changes = snapshot_info(after)["changes"];
  EXPECT_EQ(changes["source"], "full-read");
  EXPECT_NE(changes["reason"].get<std::string>().find(gone), std::string::npos) << changes.dump();
}

}  // namespace
}  // namespace pgdr::test
