// The archive change map over the real WAL of every major (tests/unit/pg/data/wal): the segments are
// pushed through archive-push into a local repository, then maps are built over them with the
// summaries intact, missing, damaged, written without their heads, and with segments gone.
#include "backup/archive_changes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../pg/wal_fixtures.h"
#include "../repo/repo_test_support.h"
#include "archive/archive_push.h"
#include "core/file.h"
#include "pg/lsn.h"
#include "pg/segment_summary.h"
#include "pg/wal_reader.h"
#include "repo/wal_archive.h"
#include "repo/wal_summary.h"
#include "verify/checks.h"

namespace pgdr::backup {
namespace {

using pg::testing::WalFixture;

class ArchiveChangesTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    fixture_ = &pg::testing::wal_fixture(GetParam());
    seg_bytes_ = fixture_->expected_u64("segment_bytes");
    sysid_ = fixture_->expected_u64("system_identifier");
    repo::Repository::create(store_, "main", "pass", repo::kDefaultBlockBytes, repo::kDefaultPackTargetBytes);
    repos_.push_back(repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir_.path()), "main", "pass",
                                            "test"));
    pg_wal_ = data_dir_.path() + "/pg_wal";
    make_directories(pg_wal_, 0700);
  }

  const repo::Repository& repo() const { return repos_.front(); }
  const std::vector<pg::testing::WalSegmentFile>& segments() const { return fixture_->segments; }
  const std::string& name(std::size_t i) const { return segments()[i].name; }

  // Pushes segment i as PostgreSQL's archiver would, with the segments of with_files in pg_wal
  // beside it (the previous one there makes the summary's head complete).
  void push(std::size_t i, const std::vector<std::size_t>& with_files) {
    for (const auto& e : std::filesystem::directory_iterator(pg_wal_)) std::filesystem::remove(e.path());
    for (std::size_t j : with_files) write_file_durably(pg_wal_ + "/" + name(j), segments()[j].bytes, 0600);
    write_file_durably(pg_wal_ + "/" + name(i), segments()[i].bytes, 0600);
    archive::push(pg_wal_ + "/" + name(i), repos_);
  }
  void push_all_with_heads() {
    for (std::size_t i = 0; i < segments().size(); ++i) push(i, i ? std::vector<std::size_t>{i - 1} : std::vector<std::size_t>{});
  }
  void clear_pg_wal() {
    for (const auto& e : std::filesystem::directory_iterator(pg_wal_)) std::filesystem::remove(e.path());
  }

  // From a little past the first segment's start to the switch record in the last one.
  ArchiveChangesRequest request() const {
    ArchiveChangesRequest r;
    r.repo = &repo();
    r.system_identifier = sysid_;
    r.segment_bytes = seg_bytes_;
    auto first = pg::parse_segment_file_name(name(0), seg_bytes_);
    pg::Lsn begin{first->segno * seg_bytes_ + 4096};
    pg::Lsn end = *pg::parse_lsn(fixture_->expected.at("switch_lsn"));
    r.path = {{1, begin, end}};
    r.data_directory = data_dir_.path();
    return r;
  }

  // Independently of summaries: every record the reader gives from the first segment's first
  // record to the switch, noted into one map.
  pg::ChangeMap reference() const {
    pg::ChangeMap map;
    pg::WalReader reader(seg_bytes_);
    pg::Lsn end = *pg::parse_lsn(fixture_->expected.at("switch_lsn"));
    for (const auto& s : segments()) {
      reader.feed(s.name, s.bytes);
      while (const pg::WalRecord* r = reader.next())
        if (r->lsn.value < end.value) pg::note_wal_record(*r, fixture_->major, map);
    }
    return map;
  }

  void remove_object(const std::string& object) { std::filesystem::remove(repo_dir_.path() + "/" + object); }

  const WalFixture* fixture_ = nullptr;
  std::uint64_t seg_bytes_ = 0;
  std::uint64_t sysid_ = 0;
  pgdr::test::TempDir repo_dir_;
  pgdr::test::TempDir data_dir_;
  storage::PosixStorage store_{repo_dir_.path()};
  std::vector<repo::Repository> repos_;
  std::string pg_wal_;
};

TEST_P(ArchiveChangesTest, ArchivePushStoresASummaryBesideEachSegment) {
  push_all_with_heads();
  for (std::size_t i = 0; i < segments().size(); ++i) {
    auto s = repo::read_segment_summary(repo(), name(i));
    ASSERT_TRUE(s) << name(i);
    EXPECT_EQ(s->segment, name(i));
    EXPECT_EQ(s->system_identifier, sysid_);
    EXPECT_EQ(s->major, fixture_->major);
    if (i > 0) {
      EXPECT_TRUE(s->head_complete) << name(i) << ": its previous segment was in pg_wal";
    }
    EXPECT_GT(s->records, 0u);
  }
  // Listers of the archive see segments only.
  auto wal = repo::list_wal(repo(), seg_bytes_);
  ASSERT_EQ(wal.segments.size(), 1u);
  EXPECT_EQ(wal.segments.at(1).size(), segments().size());
  EXPECT_TRUE(wal.partial_files.empty());
  EXPECT_EQ(repo::list_summaries(store_).size(), segments().size());
}

TEST_P(ArchiveChangesTest, PushingAgainWritesAMissingSummary) {
  push_all_with_heads();
  remove_object(repo::summary_object(name(1)));
  auto again = archive::push(pg_wal_ + "/" + name(2), repos_);  // 2 is in pg_wal, 1 is not
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].outcome, repo::PushOutcome::already_archived);
  EXPECT_FALSE(repo::has_segment_summary(repo(), name(1)));
  push(1, {0});
  EXPECT_EQ(archive::push(pg_wal_ + "/" + name(1), repos_)[0].outcome, repo::PushOutcome::already_archived);
  auto s = repo::read_segment_summary(repo(), name(1));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->head_complete);
}

TEST_P(ArchiveChangesTest, AFailedSummaryIsAWarningAndThePushSucceeds) {
  // The summary's name is taken by a directory: its write fails, the segment's does not.
  make_directories(repo_dir_.path() + "/" + repo::summary_object(name(0)), 0700);
  write_file_durably(pg_wal_ + "/" + name(0), segments()[0].bytes, 0600);
  ::testing::internal::CaptureStderr();
  auto pushed = archive::push(pg_wal_ + "/" + name(0), repos_);
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].outcome, repo::PushOutcome::stored);
  EXPECT_EQ(repo::fetch_wal_file(repo(), name(0)), segments()[0].bytes);
  EXPECT_TRUE(err.starts_with("pgdr: warning: unable to store the WAL summary of " + name(0) + " in " +
                              repo().describe() + ": "))
      << err;
  EXPECT_TRUE(err.ends_with("(the segment is archived; the summary is rebuilt from it when needed)\n")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  // WAL whose first page passes the archive's checks but whose records do not decode: archived
  // as it is (the file checks decide that), with a warning instead of a summary.
  Bytes bad = segments()[1].bytes;
  for (std::size_t i = 100000; i < 100100; ++i) bad[i] ^= 0x5a;
  clear_pg_wal();
  write_file_durably(pg_wal_ + "/" + name(1), bad, 0600);
  ::testing::internal::CaptureStderr();
  pushed = archive::push(pg_wal_ + "/" + name(1), repos_);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(pushed[0].outcome, repo::PushOutcome::stored);
  EXPECT_FALSE(repo::has_segment_summary(repo(), name(1)));
  EXPECT_TRUE(err.starts_with("pgdr: warning: unable to summarise WAL segment " + name(1) + ": ")) << err;
}

TEST_P(ArchiveChangesTest, MapFromStoredSummariesEqualsTheWalReadWhole) {
  push_all_with_heads();
  clear_pg_wal();
  auto r = archive_changes(request());
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.from_summaries, segments().size());
  EXPECT_EQ(r.rebuilt, 0u);
  EXPECT_EQ(r.from_pg_wal, 0u);
  EXPECT_GT(r.bytes_read, 0u);
  EXPECT_LT(r.bytes_read, seg_bytes_) << "summaries alone are read, no segment";
  pg::ChangeMap expected = reference();
  EXPECT_GT(expected.block_count(), 0u);
  EXPECT_TRUE(*r.map == expected);
  // The table the fixture wrote into is in the map.
  pg::RelationFork accounts{{pg::kDefaultTablespaceOid, static_cast<std::uint32_t>(fixture_->expected_u64("database_oid")),
                             static_cast<std::uint32_t>(fixture_->expected_u64("accounts_relfilenode"))},
                            pg::ForkNumber::main};
  std::vector<std::uint32_t> blocks;
  r.map->blocks_in(accounts, 0, 1u << 31, blocks);
  EXPECT_FALSE(blocks.empty() && !r.map->limit(accounts)) << "no change of the accounts table";
}

TEST_P(ArchiveChangesTest, DeletedSummaryIsRebuiltFromItsSegment) {
  push_all_with_heads();
  clear_pg_wal();
  remove_object(repo::summary_object(name(1)));
  auto r = archive_changes(request());
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.from_summaries, segments().size() - 1);
  EXPECT_EQ(r.rebuilt, 1u);
  EXPECT_GE(r.bytes_read, seg_bytes_);
  EXPECT_TRUE(*r.map == reference());
}

TEST_P(ArchiveChangesTest, DamagedSummaryIsRebuiltAndVerifyWarnsOfIt) {
  push_all_with_heads();
  clear_pg_wal();
  std::string object = repo::summary_object(name(2));
  auto bytes = store_.read(object);
  ASSERT_TRUE(bytes);
  (*bytes)[bytes->size() / 2] ^= 0xff;
  store_.write_all(object, *bytes);
  auto r = archive_changes(request());
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.rebuilt, 1u);
  EXPECT_TRUE(*r.map == reference());

  auto check = verify::check_wal(repo(), {}, {});
  EXPECT_EQ(check.status, CheckStatus::warn) << check.summary;
  ASSERT_EQ(check.findings.size(), 1u);
  EXPECT_EQ(check.findings[0].severity, "warning");
  EXPECT_NE(check.findings[0].message.find("corrupt WAL summary " + object), std::string::npos)
      << check.findings[0].message;
  EXPECT_EQ(check.details["damaged_summaries"], 1);
}

TEST_P(ArchiveChangesTest, SegmentMissingEverywhereGivesNoMapNamingIt) {
  push_all_with_heads();
  clear_pg_wal();
  remove_object(repo::summary_object(name(1)));
  remove_object(repo::wal_object(name(1)));
  auto r = archive_changes(request());
  EXPECT_FALSE(r.map);
  EXPECT_EQ(r.reason, "WAL segment " + name(1) + " is missing: not archived in " + repo().describe() + ", not in " +
                          pg_wal_);
}

TEST_P(ArchiveChangesTest, SummariesWithoutHeadsAreRepairedWithTheirPreviousSegment) {
  for (std::size_t i = 0; i < segments().size(); ++i) push(i, {});
  clear_pg_wal();
  std::size_t headless = 0;
  for (std::size_t i = 1; i < segments().size(); ++i) headless += !repo::read_segment_summary(repo(), name(i))->head_complete;
  ASSERT_GT(headless, 0u) << "the fixture's records never cross a segment boundary";
  auto r = archive_changes(request());
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.rebuilt, headless);
  EXPECT_EQ(r.from_summaries + r.rebuilt, segments().size());
  EXPECT_TRUE(*r.map == reference());
}

TEST_P(ArchiveChangesTest, SegmentNotArchivedYetIsReadFromPgWal) {
  push_all_with_heads();
  std::size_t last = segments().size() - 1;
  remove_object(repo::summary_object(name(last)));
  remove_object(repo::wal_object(name(last)));
  clear_pg_wal();
  write_file_durably(pg_wal_ + "/" + name(last), segments()[last].bytes, 0600);
  auto r = archive_changes(request());
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.from_pg_wal, 1u);
  EXPECT_EQ(r.from_summaries, last);
  EXPECT_TRUE(*r.map == reference());
}

// verify's check of maps has no data directory: the repository alone answers, and a segment it
// lacks is missing even when a pg_wal beside the working directory would hold it.
TEST_P(ArchiveChangesTest, WithoutADataDirectoryOnlyTheRepositoryIsRead) {
  push_all_with_heads();
  std::size_t last = segments().size() - 1;
  auto req = request();
  req.data_directory = "";
  auto r = archive_changes(req);
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.from_pg_wal, 0u);
  EXPECT_TRUE(*r.map == reference());

  // The segment stays in pg_wal (push left it there), yet it is not read.
  remove_object(repo::summary_object(name(last)));
  remove_object(repo::wal_object(name(last)));
  ASSERT_TRUE(std::filesystem::exists(pg_wal_ + "/" + name(last)));
  r = archive_changes(req);
  EXPECT_FALSE(r.map);
  EXPECT_EQ(r.reason, "WAL segment " + name(last) + " is missing: not archived in " + repo().describe());
}

TEST_P(ArchiveChangesTest, AnotherSystemsWalGivesNoMap) {
  push_all_with_heads();
  auto req = request();
  req.system_identifier = sysid_ + 1;
  auto r = archive_changes(req);
  EXPECT_FALSE(r.map);
  EXPECT_EQ(r.reason, "WAL segment " + name(0) + " is of system " + std::to_string(sysid_) + ", not of system " +
                          std::to_string(sysid_ + 1));
}

TEST_P(ArchiveChangesTest, UndecodableSegmentGivesNoMapNamingIt) {
  push_all_with_heads();
  clear_pg_wal();
  remove_object(repo::summary_object(name(1)));
  // Valid first page, damaged record bytes further in: the sealed object authenticates, the WAL
  // does not decode.
  Bytes bad = segments()[1].bytes;
  for (std::size_t i = 100000; i < 100100; ++i) bad[i] ^= 0x5a;
  repo::overwrite_wal_file(repo(), name(1), bad);
  auto r = archive_changes(request());
  EXPECT_FALSE(r.map);
  EXPECT_NE(r.reason.find(name(1)), std::string::npos) << r.reason;
}

// A promotion in the last segment: timeline 2's copy of it holds timeline 1's records up to the
// switch (PostgreSQL copies them when it creates the timeline), and its first record follows
// timeline 1's previous segment. Timeline 1's own copy of that segment is not used.
TEST_P(ArchiveChangesTest, ATimelineSwitchFollowsTheParentsRecords) {
  push(0, {});
  push(1, {0});
  const pg::Lsn at = *pg::parse_lsn(fixture_->expected.at("switch_lsn"));
  auto last = pg::parse_segment_file_name(name(2), seg_bytes_);
  Bytes child = segments()[2].bytes;
  std::fill(child.begin() + static_cast<std::ptrdiff_t>(at.value - last->segno * seg_bytes_), child.end(), 0);
  const std::string child_name = pg::segment_file_name(2, last->segno, seg_bytes_);
  clear_pg_wal();
  write_file_durably(pg_wal_ + "/" + name(1), segments()[1].bytes, 0600);
  write_file_durably(pg_wal_ + "/" + child_name, child, 0600);
  archive::push(pg_wal_ + "/" + child_name, repos_);
  auto summary = repo::read_segment_summary(repo(), child_name);
  ASSERT_TRUE(summary);
  EXPECT_TRUE(summary->head_complete) << "timeline 1's previous segment was in pg_wal";
  clear_pg_wal();

  auto req = request();
  req.path = {{1, req.path[0].begin, at}, {2, at, pg::Lsn{at.value + 8}}};
  auto r = archive_changes(req);
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.from_summaries, 3u);
  EXPECT_TRUE(*r.map == reference());

  remove_object(repo::summary_object(child_name));
  auto rebuilt = archive_changes(req);
  ASSERT_TRUE(rebuilt.map) << rebuilt.reason;
  EXPECT_EQ(rebuilt.rebuilt, 1u);
  EXPECT_TRUE(*rebuilt.map == reference());
}

TEST_P(ArchiveChangesTest, EmptyStretchGivesAnEmptyMap) {
  auto req = request();
  req.path = {{1, req.path[0].begin, req.path[0].begin}};
  auto r = archive_changes(req);
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.map->block_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Majors, ArchiveChangesTest, ::testing::Values(14, 15, 16, 17, 18),
                         [](const auto& info) { return "pg" + std::to_string(info.param); });

}  // namespace
}  // namespace pgdr::backup
