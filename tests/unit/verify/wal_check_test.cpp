// The WAL continuity check against the order README teaches (a snapshot, then archiving): the WAL
// a snapshot carries is not asked of the archive, segments before archiving began are not a gap,
// and a hole between archived segments still is.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../repo/repo_test_support.h"
#include "core/little_endian.h"
#include "repo/format.h"
#include "repo/wal_archive.h"
#include "verify/checks.h"

namespace pgdr::verify {
namespace {

constexpr std::uint64_t kSegmentBytes = std::uint64_t{1} << 20;

std::string segment(int n) {
  char buf[25];
  std::snprintf(buf, sizeof buf, "0000000100000000%08X", n);
  return buf;
}

// A first page header of PostgreSQL 15 for segment n, then mixed bytes.
Bytes segment_content(int n) {
  Bytes b = repo::test::mixed_data(kSegmentBytes, static_cast<std::uint32_t>(n));
  Bytes h;
  put_u16le(h, 0xD110);
  put_u16le(h, 0x0002);
  put_u32le(h, 1);
  put_u64le(h, static_cast<std::uint64_t>(n) * kSegmentBytes);
  put_u32le(h, 0);
  put_u32le(h, 0);
  put_u64le(h, 7000000000000000042ull);
  put_u32le(h, static_cast<std::uint32_t>(kSegmentBytes));
  put_u32le(h, 8192);
  std::copy(h.begin(), h.end(), b.begin());
  return b;
}

class WalCheckTest : public repo::test::RepoTestBase {
 protected:
  void SetUp() override {
    repo::Repository::create(store_, "main", "pass", repo::kDefaultBlockBytes, repo::kDefaultPackTargetBytes);
    repo_ = std::make_unique<repo::Repository>(
        repo::Repository::open(std::make_unique<storage::PosixStorage>(dir_.path()), "main", "pass", "test"));
  }
  void archive(std::initializer_list<int> segments) {
    for (int n : segments) repo::push_wal_file(*repo_, segment(n), segment_content(n));
  }
  static repo::SnapshotInfo snapshot(const std::string& id, int first, int last) {
    repo::SnapshotInfo s;
    s.id = id;
    s.timeline = 1;
    s.wal_segment_bytes = kSegmentBytes;
    s.first_wal_segment = segment(first);
    s.last_wal_segment = segment(last);
    return s;
  }
  CheckResult run(const std::vector<repo::SnapshotInfo>& snaps) { return check_wal(*repo_, snaps, {}); }

  std::unique_ptr<repo::Repository> repo_;
};

// The first week as README orders it: the snapshot's own WAL (2..3) was never archived, archiving
// began with the next segment. Earlier this was a critical gap "needed from snapshot A on".
TEST_F(WalCheckTest, ASnapshotBeforeArchivingIsNotAGap) {
  archive({4, 5, 6});
  CheckResult r = run({snapshot("A", 2, 3)});
  EXPECT_EQ(r.status, CheckStatus::pass) << r.summary;
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.details["gaps"].size(), 0u);
  EXPECT_EQ(r.summary, "continuous from " + segment(4) + " to " + segment(6) + " (3 segments, 1 timeline)");
}

// Archiving began later still: the snapshot restores to its own end only, and the newer one
// reaches the archive. Information, not a finding.
TEST_F(WalCheckTest, SnapshotsTakenBeforeArchivingBeganAreInformation) {
  archive({7, 8, 9, 10});
  CheckResult r = run({snapshot("A", 2, 3), snapshot("B", 8, 8)});
  EXPECT_EQ(r.status, CheckStatus::pass) << r.summary;
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.details["snapshots_before_archiving"], nlohmann::json::array({"A"}));
  EXPECT_EQ(r.details["archive_began"], segment(7));
  EXPECT_EQ(r.summary, "continuous from " + segment(7) + " to " + segment(10) +
                           " (4 segments, 1 timeline); 1 snapshot taken before archiving began with " + segment(7) +
                           " restores to its own end only");
}

// No snapshot reaches the archive at all: recovery past the snapshot is impossible until the next
// one. A warning, not a critical gap.
TEST_F(WalCheckTest, NoSnapshotReachingTheArchiveWarns) {
  archive({7, 8});
  CheckResult r = run({snapshot("A", 2, 3)});
  EXPECT_EQ(r.status, CheckStatus::warn) << r.summary;
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].severity, "warning");
  EXPECT_EQ(r.findings[0].message,
            "no snapshot in repository 'main' reaches the archived WAL (1 snapshot taken before archiving began with " +
                segment(7) + " restores to its own end only): point-in-time recovery begins with the next snapshot");
  EXPECT_EQ(r.details["gaps"].size(), 0u);
}

// A hole between archived segments stays critical.
TEST_F(WalCheckTest, AHoleBetweenArchivedSegmentsFails) {
  archive({4, 6});
  CheckResult r = run({snapshot("A", 2, 3)});
  EXPECT_EQ(r.status, CheckStatus::fail);
  ASSERT_EQ(r.details["gaps"].size(), 1u) << r.details.dump(2);
  EXPECT_EQ(r.details["gaps"][0]["first_missing"], segment(5));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].severity, "critical");
  EXPECT_EQ(r.findings[0].message, "WAL gap on timeline 1: " + segment(5) + " missing (1 segment, between archived segments)");
}

}  // namespace
}  // namespace pgdr::verify
