// Page checksums checked while reading, and delta restores that rewrite only what differs.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

class ChecksumDeltaTest : public PgdrTest {};

// A page damaged on disk (not in shared buffers, not being written) is reported by name; the
// snapshot is still kept, and the command fails so that nobody mistakes it for a clean one.
TEST_F(ChecksumDeltaTest, DamagedPageIsReportedAndBackupFails) {
  cluster_->psql(
      "CREATE TABLE victim (id int, v text); INSERT INTO victim SELECT g, md5(g::text) FROM generate_series(1, 5000) g;"
      "CHECKPOINT;");
  std::string rel = cluster_->data_dir() + "/" + cluster_->psql("SELECT pg_relation_filepath('victim')");
  pgdr_ok({"init"});
  cluster_->stop();
  {
    std::fstream f(rel, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    // Block 2, inside the tuple data: the header and LSN stay plausible, the checksum does not.
    std::streamoff off = 2 * 8192 + 6000;
    f.seekg(off);
    char c;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x55);
    f.seekp(off);
    f.write(&c, 1);
  }
  cluster_->start();
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("page checksum mismatch in " + rel + " block 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 pages failed checksum verification"), std::string::npos) << r.err;
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  ASSERT_EQ(info["repositories"][0]["snapshots"].size(), 1u);
  EXPECT_EQ(info["repositories"][0]["snapshots"][0]["checksum_failures"], 1);
}

TEST_F(ChecksumDeltaTest, DeltaRestoreRewritesOnlyWhatDiffers) {
  cluster_->psql(
      "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100000) g;"
      "CHECKPOINT;");
  pgdr_ok({"init"});
  std::string id = backup();
  auto expected = fingerprint(*cluster_);
  std::string target = work_->file("restored");
  pgdr_ok({"restore", "--target-dir", target});
  {
    // Use the copy, change it, leave a stray file: delta must undo all of it.
    PgCluster copy(PgCluster::Adopt{target}, with_passphrase({}));
    wait_recovered(copy);
    copy.psql("UPDATE t SET v = 'changed' WHERE id % 10 = 0; CREATE TABLE extra AS SELECT 1 AS x; CHECKPOINT;");
    copy.stop();
  }
  work_->write_file("restored/stray-file", "left behind");
  auto r = pgdr({"restore", "--delta", "--target-dir", target});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("unchanged"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(target + "/stray-file"));
  PgCluster copy(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(copy);
  EXPECT_EQ(fingerprint(copy), expected);
  EXPECT_EQ(copy.psql("SELECT count(*) FROM pg_class WHERE relname = 'extra'"), "0");
}

TEST_F(ChecksumDeltaTest, DeltaRefusesARunningServer) {
  pgdr_ok({"init"});
  backup();
  std::string target = work_->file("restored");
  pgdr_ok({"restore", "--target-dir", target});
  PgCluster copy(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(copy);
  auto r = pgdr({"restore", "--delta", "--target-dir", target});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing to restore over a running server: " + target), std::string::npos) << r.err;
  EXPECT_EQ(copy.psql("SELECT 1"), "1");
}

}  // namespace
}  // namespace pgdr::test
