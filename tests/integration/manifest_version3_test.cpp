// A repository whose snapshots an older pgdr wrote, with manifests of format version 3 (ids in
// the references): this pgdr backs up over them by change map, restores them, proves them with
// verify --full, and repacks under them, rewriting a kept version 3 manifest as version 4.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "expire_fixture.h"
#include "manifest_version3.h"

namespace pgdr::test {
namespace {

class ManifestVersion3Test : public ExpireTest {
 protected:
  PgClusterOptions cluster_options() override {
    auto o = ExpireTest::cluster_options();
    o.settings.push_back("autovacuum = off");  // which pages of big change is the test's to say
    return o;
  }
  void SetUp() override {
    ExpireTest::SetUp();
    // Repacking without grace, so that expire rewrites the kept manifest at once.
    write_config("[retention]\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\nmin_age = \"1h\"\n"
                 "repack_threshold = 20\nrepack_grace = \"0s\"\n");
    pgdr_ok({"init"});
  }

  // Restores the snapshot to its own end (no later WAL could mend a block taken wrongly from the
  // version 3 manifest) and returns the restored cluster's fingerprint.
  std::map<std::string, std::string> restored(const std::string& id) {
    static int n = 0;
    std::string dir = work_->file("restored-" + std::to_string(++n));
    auto r = pgdr({"restore", "--target-dir", dir, "--snapshot", id, "--immediate", "--target-action", "promote"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return {};
    PgCluster copy(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(copy);
    auto check = pg_amcheck(copy);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    auto fp = fingerprint(copy);
    copy.stop();
    return fp;
  }
  // verify --full decodes every pack and reassembles every file; the schedule's checks judge the
  // fabricated backup times, so only the checksums line is asserted.
  void expect_verify_full_proves_every_block() {
    auto v = pgdr({"verify", "--full", "--no-alerts"});
    EXPECT_NE(v.out.find("PASS checksums"), std::string::npos) << v.out << v.err;
  }
};

TEST_F(ManifestVersion3Test, BacksUpOverRestoresVerifiesAndRepacksUnderVersion3Manifests) {
  cluster_->psql(
      "CREATE EXTENSION amcheck; CREATE TABLE counter (v int); INSERT INTO counter VALUES (1); "
      "CREATE TABLE big (id int PRIMARY KEY, pad text); "
      "INSERT INTO big SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 300000) g; "
      "VACUUM FREEZE big; CHECKPOINT");
  archive_now();
  const std::string first = backup_at("2026-10-01T08:00:00Z");
  const auto first_state = fingerprint(*cluster_);
  const std::uint64_t first_refs = rewrite_manifest_as_version3(repo_dir_, first);
  ASSERT_EQ(manifest_version(repo_dir_, first), 3);
  auto counts = snapshot_info(first);
  EXPECT_EQ(first_refs, counts["new_blocks"].get<std::uint64_t>() + counts["reused_blocks"].get<std::uint64_t>() +
                            counts["zero_blocks"].get<std::uint64_t>());

  // One run of 64 pages (a frame's worth) in four of big changes: a quarter of the frames of the
  // pack that holds big becomes garbage once the first snapshot expires, while the second takes the
  // unchanged pages from it by the ids of the version 3 manifest. (Changing most of big would make
  // the second snapshot read it whole, and its pack all garbage.) The new rows are as long as the
  // old ones: shorter ones would fit in the free bytes of unchanged pages and change them too.
  cluster_->psql(
      "UPDATE big SET pad = md5(pad) || md5(id::text) WHERE ((ctid::text::point)[0]::bigint / 64) % 4 = 1; "
      "VACUUM big; "
      "UPDATE counter SET v = 2; "
      "CREATE TABLE added AS SELECT g FROM generate_series(1, 5000) g; CHECKPOINT");
  archive_now();
  const std::string second = backup_at("2026-10-02T08:00:00Z");
  const auto second_state = fingerprint(*cluster_);
  auto info = snapshot_info(second);
  EXPECT_EQ(info["changes"]["source"], "wal-archive") << info["changes"].dump();
  // Three quarters of big's 3704 pages, besides what else stayed the same.
  EXPECT_GT(info["changes"]["unread_blocks"].get<std::uint64_t>(), 2700u) << info["changes"].dump();
  EXPECT_GT(info["reused_blocks"].get<std::uint64_t>(), 0u) << info.dump();
  EXPECT_EQ(manifest_version(repo_dir_, second), repo::kManifestVersion);

  EXPECT_EQ(restored(second), second_state);
  EXPECT_EQ(restored(first), first_state);
  expect_verify_full_proves_every_block();

  // Both manifests of the old format: expire removes the first and repacks the packs the second
  // uses in part, rewriting its manifest in the current version.
  rewrite_manifest_as_version3(repo_dir_, second);
  ASSERT_EQ(manifest_version(repo_dir_, second), 3);
  auto r = pgdr({"expire", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(r.out)["repositories"][0];
  ASSERT_EQ(report["snapshots"].size(), 2u);
  EXPECT_FALSE(report["snapshots"][0]["keep"].get<bool>());
  EXPECT_TRUE(report["snapshots"][1]["keep"].get<bool>());
  ASSERT_GT(report["repack"]["packs"].size(), 0u) << report.dump();
  EXPECT_EQ(report["repack"]["manifests_rewritten"], nlohmann::json::array({second}));
  EXPECT_EQ(manifest_version(repo_dir_, second), repo::kManifestVersion);

  EXPECT_EQ(restored(second), second_state);
  expect_verify_full_proves_every_block();
}

}  // namespace
}  // namespace pgdr::test
