// Synchronous wal-stream (synchronous_standby_names naming pgdr's receiver) through a kill -9 of the
// server under load: no acknowledged commit is lost.
#include "matrix/majors.h"
#include "wal_stream_fixture.h"

namespace pgdr::test {
namespace {

class WalStream : public OnMajor<WalStreamTest> {};

TEST_P(WalStream, SynchronousKeepsEveryAcknowledgedCommitThroughKill9) {
  expect_synchronous_stream_keeps_acknowledged_commits_through_kill9();
}

INSTANTIATE_TEST_SUITE_P(Majors, WalStream, testing::ValuesIn(kMatrixMajors), major_name);

}  // namespace
}  // namespace pgdr::test
