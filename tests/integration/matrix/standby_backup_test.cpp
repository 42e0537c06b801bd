// Snapshots from a streaming standby on the majors with WAL summaries: the standby's own
// summarizer gives the change map, and the snapshot read by it restores to the primary's content.
#include <nlohmann/json.hpp>

#include "matrix/majors.h"
#include "standby_fixture.h"

namespace pgdr::test {
namespace {

std::vector<int> summary_majors() {
  std::vector<int> out;
  for (int m : kMatrixMajors)
    if (m >= 17) out.push_back(m);
  return out;
}

class SummarizingPrimary : public StandbyFixture {
 protected:
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = StandbyFixture::cluster_options();
    // In postgresql.conf, which the standby restored from a snapshot keeps.
    o.settings.push_back("summarize_wal = on");
    return o;
  }
};

class StandbyBackup : public OnMajor<SummarizingPrimary> {};

TEST_P(StandbyBackup, ReadsByTheStandbysWalSummariesAndRestores) {
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
  EXPECT_EQ(snaps[2]["changes"]["source"], "wal-summaries") << snaps[2]["changes"].dump();
  EXPECT_GT(snaps[2]["changes"]["unread_blocks"].get<std::uint64_t>(), 0u);

  auto restored = restore_immediate(second, "restored");
  EXPECT_EQ(fingerprint(*restored), primary_content);
  auto amcheck = pg_amcheck(*restored);
  EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
}

INSTANTIATE_TEST_SUITE_P(Majors, StandbyBackup, testing::ValuesIn(summary_majors()), major_name);
// PGDR_MATRIX_MAJORS may name only majors without summaries.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StandbyBackup);

}  // namespace
}  // namespace pgdr::test
