// pgdr drill (PASS, RTO and RPO measured in its JSON report) and pgdr verify --restore-test (PASS),
// each restoring into a throwaway cluster that must start with the servers of the snapshot's major.
#include <cstdio>

#include "drill_fixture.h"
#include "matrix/majors.h"
#include "verify_support.h"

namespace pgdr::test {
namespace {

class Drill : public OnMajor<DrillTest> {};

TEST_P(Drill, PassesWithMeasuredRtoAndRpo) {
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(expect_healthy_drill(j));
  ASSERT_TRUE(j["rto_seconds"].is_number()) << j.dump(2);
  ASSERT_TRUE(j["rpo_seconds"].is_number()) << j.dump(2);
  std::printf("PostgreSQL %d drill: RTO %.3f s, RPO %.3f s\n", major(), j["rto_seconds"].get<double>(),
              j["rpo_seconds"].get<double>());
}

class Verify : public OnMajor<VerifyFixture> {};

TEST_P(Verify, RestoreTestPasses) { expect_restore_test_passes(); }

INSTANTIATE_TEST_SUITE_P(Majors, Drill, testing::ValuesIn(kMatrixMajors), major_name);
INSTANTIATE_TEST_SUITE_P(Majors, Verify, testing::ValuesIn(kMatrixMajors), major_name);

}  // namespace
}  // namespace pgdr::test
