// A real cluster backed up to an S3 repository on s3rver: snapshot under load, WAL through
// archive_command, restore to latest, amcheck, identical content; and aws-cli, an independent client,
// reads what pgdr wrote.
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/subprocess.h"
#include "io/sha256.h"
#include "s3_fixture.h"
#include "storage/s3/s3_storage.h"

namespace pgdr::test {
namespace {

class S3RepositoryTest : public S3PgdrTest {
 protected:
  storage::S3Storage open_store() {
    storage::s3::S3Config c;
    c.endpoint = s3_->endpoint();
    c.bucket = s3_->bucket();
    c.region = S3Server::kRegion;
    c.prefix = kS3Prefix;
    c.addressing = storage::s3::S3Addressing::path;
    c.credentials.access_key_id = S3Server::kAccessKey;
    c.credentials.secret_access_key = SecretBytes(as_bytes(S3Server::kSecretKey));
    return storage::S3Storage(std::move(c));
  }

  ProcessResult aws(std::vector<std::string> args) {
    // Debian's awscli where installed (.ci/deps.sh), else whichever aws is on PATH.
    const std::string exe = ::access("/usr/bin/aws", X_OK) == 0 ? "/usr/bin/aws" : "aws";
    args.insert(args.begin(), {exe, "--endpoint-url", s3_->endpoint()});
    std::vector<std::string> env = s3_->credential_env();
    env.insert(env.end(), {"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null",
                           "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"});
    return run_process(args, {}, env);
  }
};

TEST_F(S3RepositoryTest, BackupUnderLoadArchiveAndRestoreToLatest) {
  cluster_->psql("CREATE EXTENSION amcheck");
  auto init = cluster_->run_as_server_user({PgCluster::bin("pgbench"), "-i", "-s", "4", "-h", "127.0.0.1", "-p",
                                            std::to_string(cluster_->port()), "postgres"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  std::string out = pgdr_ok({"init"});
  EXPECT_NE(out.find("at s3://pgdr-repo/prod/db1"), std::string::npos) << out;

  std::thread load([&] {
    cluster_->run_as_server_user({PgCluster::bin("pgbench"), "-c", "2", "-T", "6", "-h", "127.0.0.1", "-p",
                                  std::to_string(cluster_->port()), "postgres"});
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::string id = backup();
  load.join();
  ASSERT_FALSE(id.empty());

  // Written after the snapshot: only the archived WAL brings it back.
  cluster_->psql("CREATE TABLE after_snapshot AS SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
  archive_now(*cluster_);
  auto source = fingerprint(*cluster_);

  std::string target = work_->file("restored");
  pgdr_ok({"restore", "--target-dir", target});
  PgCluster restored(PgCluster::Adopt{target}, server_options());
  wait_recovered(restored);
  auto amcheck = restored.run_as_server_user({PgCluster::bin("pg_amcheck"), "--heapallindexed", "--all", "-h",
                                              "127.0.0.1", "-p", std::to_string(restored.port())});
  EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
  EXPECT_EQ(fingerprint(restored), source);
  EXPECT_EQ(restored.psql("SELECT count(*) FROM after_snapshot"), "50000");

  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  ASSERT_EQ(info["repositories"][0]["snapshots"].size(), 1u);
  EXPECT_EQ(info["repositories"][0]["snapshots"][0]["id"], id);
}

TEST_F(S3RepositoryTest, AwsCliListsAndDownloadsWhatPgdrWrote) {
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 600000) g");
  pgdr_ok({"init"});
  backup();

  storage::S3Storage store = open_store();
  // WAL segments keep arriving from archive_command while the test runs: compare the rest.
  auto settled = [](const std::string& key) { return key.find("/wal/") == std::string::npos; };
  std::set<std::string> ours;
  std::string pack;
  std::uint64_t pack_bytes = 0;
  for (const auto& o : store.list("")) {
    if (settled(std::string(kS3Prefix) + "/" + o.path)) ours.insert(std::string(kS3Prefix) + "/" + o.path);
    if (o.path.starts_with("packs/") && o.size_bytes > pack_bytes) {
      pack = o.path;  // the largest pack: a multipart upload
      pack_bytes = o.size_bytes;
    }
  }
  ASSERT_FALSE(pack.empty());
  ASSERT_TRUE(ours.count(std::string(kS3Prefix) + "/pgdr.repo"));

  auto ls = aws({"s3", "ls", "--recursive", "s3://" + s3_->bucket() + "/" + kS3Prefix + "/"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  // "2026-01-01 12:00:00     123456 prod/db1/packs/ab/abcd..."
  std::set<std::string> theirs;
  std::istringstream lines(ls.out);
  std::string date, time, size, key;
  while (lines >> date >> time >> size >> key)
    if (settled(key)) theirs.insert(key);
  EXPECT_EQ(theirs, ours);

  const std::string file = work_->file("pack.download");
  auto cp = aws({"s3", "cp", "s3://" + s3_->bucket() + "/" + kS3Prefix + "/" + pack, file});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  auto downloaded = run_process({"sha256sum", file});
  ASSERT_EQ(downloaded.exit_code, 0);
  auto bytes = store.read(pack);
  ASSERT_TRUE(bytes.has_value());
  const io::Digest d = io::Sha256::of(*bytes);
  EXPECT_EQ(downloaded.out.substr(0, 64), to_hex(ByteView(d.data(), d.size())));
  EXPECT_GT(bytes->size(), store.plan().first_part_bytes);
}

}  // namespace
}  // namespace pgdr::test
