// An S3 repository behind a fault-injecting proxy: what a backup meets on a real network. A reset in
// the middle of an upload and a burst of 503 SlowDown answers are retried and the backup succeeds; a
// stalled server ends in a one-line error naming the object; a server that goes away mid-backup
// fails it cleanly (no snapshot appears) and the next backup, once it is back, works.
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/fault_proxy.h"
#include "s3_fixture.h"

namespace pgdr::test {
namespace {

class S3FaultTest : public S3PgdrTest {
 protected:
  void before_config() override { proxy_ = std::make_unique<FaultProxy>(s3_->port()); }
  void TearDown() override {
    S3PgdrTest::TearDown();
    proxy_.reset();
  }
  std::string s3_endpoint() override { return proxy_->endpoint(); }
  // Quick to give up, so the failure scenarios stay short: a stall of 1 s fails one attempt, and
  // three attempts span well under the outage the test makes.
  std::string s3_extra() override { return "s3_stall_timeout = \"1s\"\ns3_attempts = 3\n"; }
  // No archive_command: WAL pushes would share the proxy's faults with the backup under test.
  PgClusterOptions cluster_options() override { return server_options(); }

  // About 40 MB of table: the backup writes several 16 MiB packs, each a multipart upload.
  void fill() {
    cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) || md5((g * 3)::text) AS v FROM generate_series(1, 400000) g;"
                   "CHECKPOINT");
  }

  std::size_t snapshot_count() {
    auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
    return info["repositories"][0]["snapshots"].size();
  }

  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(S3FaultTest, ConnectionResetMidUploadIsRetried) {
  fill();
  pgdr_ok({"init"});
  proxy_->arm_upload(FaultProxy::Action::reset, 1u << 20, 3);
  std::string id = backup();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(proxy_->resets(), 3);
  EXPECT_EQ(snapshot_count(), 1u);

  // The retried parts hold the right bytes: the snapshot restores to the same content.
  auto source = fingerprint(*cluster_);
  std::string target = work_->file("restored");
  pgdr_ok({"restore", "--target-dir", target, "--target-action", "promote", "--immediate"});
  PgCluster restored(PgCluster::Adopt{target}, server_options());
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), source);
}

class S3SlowDownTest : public S3FaultTest {
 protected:
  std::string s3_extra() override { return "s3_attempts = 5\n"; }
};

TEST_F(S3SlowDownTest, SlowDownBurstIsRetried) {
  fill();
  pgdr_ok({"init"});
  // The first request of the backup meets four in a row and gets through on its fifth attempt.
  proxy_->answer_503(4);
  backup();
  EXPECT_EQ(proxy_->slowdowns(), 4);
  EXPECT_EQ(snapshot_count(), 1u);
}

TEST_F(S3FaultTest, StalledServerEndsInOneLineErrorNamingTheObject) {
  fill();
  pgdr_ok({"init"});
  proxy_->arm_upload(FaultProxy::Action::stall, 1u << 20, 1);
  auto r = pgdr({"backup"});
  proxy_->stall(false);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // One line, naming the object, the reason and the attempts; then perhaps a HINT line.
  const std::string first = r.err.substr(0, r.err.find('\n'));
  const std::string object = "s3://pgdr-repo/prod/db1/packs/";
  const std::string reason = " (no byte moved for 1 s, after 3 attempts)";
  const std::size_t at = first.find(object);
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_TRUE(first.ends_with(reason)) << r.err;
  // packs/<2 hex>/<32 hex>, then the reason
  const std::string name = first.substr(at + object.size(), first.size() - at - object.size() - reason.size());
  EXPECT_EQ(name.size(), 2u + 1u + 32u) << r.err;
  EXPECT_EQ(name.find_first_not_of("0123456789abcdef/"), std::string::npos) << r.err;
  EXPECT_TRUE(first.starts_with("pgdr: ")) << r.err;
  EXPECT_EQ(r.err.find("S3RVER"), std::string::npos);
  EXPECT_EQ(snapshot_count(), 0u);
}

TEST_F(S3FaultTest, ServerGoneDuringBackupFailsCleanlyAndNextBackupWorks) {
  fill();
  pgdr_ok({"init"});
  proxy_->arm_upload(FaultProxy::Action::down, 2u << 20, 1);
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string first = r.err.substr(0, r.err.find('\n'));
  EXPECT_TRUE(first.starts_with("pgdr: ")) << r.err;
  EXPECT_NE(first.find("s3://pgdr-repo/prod/db1/"), std::string::npos) << r.err;
  EXPECT_NE(first.find("after 3 attempts"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;

  proxy_->down(false);
  EXPECT_EQ(snapshot_count(), 0u);
  std::string id = backup();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(snapshot_count(), 1u);
}

}  // namespace
}  // namespace pgdr::test
