// Point-in-time recovery through the archive (archive_command = pgdr archive-push): by time and by
// LSN, what was committed before the target is there and what came after is not.
#include "matrix/majors.h"
#include "wal_archive_fixture.h"

namespace pgdr::test {
namespace {

class PointInTime : public OnMajor<WalArchiveTest> {};

TEST_P(PointInTime, ByTimeAndLsn) {
  pgdr_ok({"init"});
  create_batches_table();
  backup();
  Batch b1 = commit_batch(1);
  Batch b2 = commit_batch(2);
  commit_batch(3);
  archive_now(*cluster_);
  EXPECT_EQ(restore_and_query({"--time", b1.time_after}, kBatchesPresent), "1");
  EXPECT_EQ(restore_and_query({"--lsn", b2.lsn_after}, kBatchesPresent), "1,2");
}

INSTANTIATE_TEST_SUITE_P(Majors, PointInTime, testing::ValuesIn(kMatrixMajors), major_name);

}  // namespace
}  // namespace pgdr::test
