// Change maps from the server's own WAL summaries (PostgreSQL 17 and later, summarize_wal = on)
// never miss a block: the seeded workloads of change_map_fixture.h, each snapshot by map equal to
// a full read of the quiet server and restored to the source's content. The 15 tests cover the
// wal-archive source, the relation past 1 GB and the promotion.
#include <tuple>

#include "change_map_fixture.h"
#include "matrix/majors.h"

namespace pgdr::test {
namespace {

// The majors of the matrix that have WAL summaries.
std::vector<int> summary_majors() {
  std::vector<int> out;
  for (int m : kMatrixMajors)
    if (m >= 17) out.push_back(m);
  return out;
}

class ChangeMapMatrix : public ChangeMapFixture, public testing::WithParamInterface<std::tuple<int, std::uint64_t>> {
 protected:
  std::string map_source() const override { return "wal-summaries"; }
  PgClusterOptions cluster_options() override {
    // No archiving: the map can come from the summaries alone, or there is none and the test fails.
    PgClusterOptions o = quiet(with_passphrase({}));
    o.major = std::get<0>(GetParam());
    o.settings.push_back("summarize_wal = on");
    return o;
  }
};

TEST_P(ChangeMapMatrix, SnapshotByMapEqualsFullRead) { run_seeded(std::get<1>(GetParam()), 4); }

INSTANTIATE_TEST_SUITE_P(Majors, ChangeMapMatrix,
                         testing::Combine(testing::ValuesIn(summary_majors()),
                                          testing::ValuesIn(change_map_seeds({1, 2}))),
                         [](const testing::TestParamInfo<std::tuple<int, std::uint64_t>>& i) {
                           return "pg" + std::to_string(std::get<0>(i.param)) + "_seed" +
                                  std::to_string(std::get<1>(i.param));
                         });
// PGDR_MATRIX_MAJORS may name only majors without summaries.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ChangeMapMatrix);

}  // namespace
}  // namespace pgdr::test
