// Snapshots from a streaming standby, on every major (14's backup functions have their old names):
// the change map comes from the standby's own WAL summarizer on 17+, from the archive's block
// summaries before, and the snapshot read by it restores to the primary's content.
#include <nlohmann/json.hpp>

#include "matrix/majors.h"
#include "standby_fixture.h"

namespace pgdr::test {
namespace {

class StandbyBackup : public OnMajor<StandbyFixture> {
 protected:
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = OnMajor<StandbyFixture>::cluster_options();
    // In postgresql.conf, which the standby restored from a snapshot keeps.
    if (major() >= 17) o.settings.push_back("summarize_wal = on");
    return o;
  }
};

TEST_P(StandbyBackup, ReadsByAChangeMapAndRestores) {
  cluster_->psql("CREATE EXTENSION amcheck; CREATE TABLE items AS SELECT g AS id, md5(g::text) AS v "
                 "FROM generate_series(1, 100000) g; ALTER TABLE items ADD PRIMARY KEY (id)");
  pgdr_ok({"init"});
  backup();  // of the primary: the standby is restored from it
  auto standby = standby_by_restore("standby");
  configure_cluster(*standby);
  wait_replayed(*standby);
  std::string first = backup();

  cluster_->psql("UPDATE items SET v = 'changed' WHERE id % 100 = 0; CHECKPOINT");
  wait_replayed(*standby);
  auto primary_content = fingerprint(*cluster_);
  std::string second = backup();

  auto snaps = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"];
  ASSERT_EQ(snaps.size(), 3u);
  EXPECT_EQ(snaps[0]["taken_on"]["role"], "primary");
  EXPECT_EQ(snaps[1]["id"], first);
  EXPECT_EQ(snaps[1]["taken_on"]["role"], "standby");
  EXPECT_EQ(snaps[2]["taken_on"]["role"], "standby");
  EXPECT_EQ(snaps[2]["changes"]["source"], major() >= 17 ? "wal-summaries" : "wal-archive")
      << snaps[2]["changes"].dump();
  EXPECT_GT(snaps[2]["changes"]["unread_blocks"].get<std::uint64_t>(), 0u);

  // --immediate stops before the record after the standby's stop LSN: let the primary write one.
  cluster_->psql("SELECT pg_logical_emit_message(false, 'pgdr-test', 'after the snapshots')");
  archive_now(*cluster_);
  auto restored = restore_immediate(second, "restored");
  EXPECT_EQ(fingerprint(*restored), primary_content);
  auto amcheck = pg_amcheck(*restored);
  EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
}

INSTANTIATE_TEST_SUITE_P(Majors, StandbyBackup, testing::ValuesIn(kMatrixMajors), major_name);

}  // namespace
}  // namespace pgdr::test
