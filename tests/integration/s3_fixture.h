// PgdrTest with its repository in an S3 bucket: an s3rver started for the test, a [[repo]] section
// naming it, and the credentials given to every pgdr run and to the servers (archive_command and
// restore_command run pgdr too).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "harness/s3_server.h"
#include "pgdr_fixture.h"

namespace pgdr::test {

inline constexpr const char* kS3Prefix = "prod/db1";

class S3PgdrTest : public PgdrTest {
 protected:
  void SetUp() override {
    s3_ = std::make_unique<S3Server>("pgdr-repo");
    pgdr_env_ = s3_->credential_env();
    before_config();
    PgdrTest::SetUp();
  }
  // Runs once the server is up, before the cluster and the configuration are made.
  virtual void before_config() {}
  void TearDown() override {
    PgdrTest::TearDown();
    s3_.reset();
  }

  PgClusterOptions cluster_options() override {
    PgClusterOptions o = server_options();
    o.archive_command = pgdr_path() + " --config " + work_->file("pgdr.toml") + " archive-push %p";
    return o;
  }

  // What a server running pgdr needs: the passphrase and the S3 credentials.
  PgClusterOptions server_options() {
    PgClusterOptions o = with_passphrase({});
    for (const auto& e : s3_->credential_env()) o.server_env.push_back(e);
    return o;
  }

  // Where pgdr sends its requests; a fault test puts a proxy in between.
  virtual std::string s3_endpoint() { return s3_->endpoint(); }
  // Further [[repo]] keys.
  virtual std::string s3_extra() { return ""; }

  std::string repo_toml() override {
    return "[[repo]]\nname = \"s3\"\ns3_endpoint = \"" + s3_endpoint() + "\"\ns3_bucket = \"" + s3_->bucket() +
           "\"\ns3_region = \"" + S3Server::kRegion + "\"\ns3_prefix = \"" + kS3Prefix +
           "\"\ns3_uri_style = \"path\"\n" + s3_extra();
  }

  // Switches to a new segment and waits until the archiver has stored everything before it.
  void archive_now(PgCluster& c) {
    std::string seg = c.psql("SELECT pg_walfile_name(pg_switch_wal())");
    for (int i = 0; i < 600; ++i) {
      std::string last = c.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
      if (!last.empty() && last >= seg) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "segment " << seg << " was not archived in time\n"
           << c.log().substr(c.log().size() > 3000 ? c.log().size() - 3000 : 0);
  }

  std::unique_ptr<S3Server> s3_;
};

}  // namespace pgdr::test
