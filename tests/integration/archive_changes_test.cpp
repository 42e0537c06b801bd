// Block summaries of real segments, written by archive-push (PostgreSQL's archiver) and by
// wal-stream, and the archive change map built from them: intact, after a kill -9 of archive-push
// between a segment and its summary, with a summary deleted, and with a segment gone.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "backup/archive_changes.h"
#include "config/config.h"
#include "core/file.h"
#include "harness/server_user.h"
#include "pg/lsn.h"
#include "repo/wal_archive.h"
#include "repo/wal_summary.h"
#include "storage/open_storage.h"
#include "wal_archive_fixture.h"
#include "wal_stream_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kSegmentBytes = 16u << 20;

repo::Repository open_repo(const std::string& dir) {
  RepoConfig rc;
  rc.name = "local";
  rc.path = dir;
  return repo::Repository::open(storage::open_storage(rc), "local", kPassphrase, "the test");
}

std::vector<std::string> archived_segments(const repo::Repository& repo) {
  std::vector<std::string> out;
  for (const auto& [tli, segs] : repo::list_wal(repo, kSegmentBytes).segments)
    for (auto s : segs) out.push_back(pg::segment_file_name(tli, s, kSegmentBytes));
  return out;
}

class ArchiveChangesIntegrationTest : public WalArchiveTest {
 protected:
  // A stretch of several archived segments of changes to table t, from a checkpoint's redo to the
  // next one's (both where records start, as a snapshot's start LSN is).
  void SetUp() override {
    WalArchiveTest::SetUp();
    pgdr_ok({"init"});
    cluster_->psql("CREATE TABLE t (id int, pad text)");
    cluster_->psql("CHECKPOINT");
    begin_ = *pg::parse_lsn(cluster_->psql("SELECT redo_lsn FROM pg_control_checkpoint()"));
    for (int i = 0; i < 4; ++i) {
      cluster_->psql("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
      archive_now(*cluster_);
    }
    cluster_->psql("UPDATE t SET pad = 'y' WHERE id % 100 = 0");
    cluster_->psql("CHECKPOINT");
    end_ = *pg::parse_lsn(cluster_->psql("SELECT redo_lsn FROM pg_control_checkpoint()"));
    sysid_ = std::stoull(cluster_->psql("SELECT system_identifier FROM pg_control_system()"));
    table_ = {{pg::kDefaultTablespaceOid,
               static_cast<std::uint32_t>(std::stoul(cluster_->psql("SELECT oid FROM pg_database WHERE datname = "
                                                                    "current_database()"))),
               static_cast<std::uint32_t>(std::stoul(cluster_->psql("SELECT pg_relation_filenode('t')")))},
              pg::ForkNumber::main};
    repo_ = std::make_unique<repo::Repository>(open_repo(repo_dir_));
  }

  backup::ArchiveChanges build() {
    backup::ArchiveChangesRequest r;
    r.repo = repo_.get();
    r.system_identifier = sysid_;
    r.segment_bytes = kSegmentBytes;
    r.path = {{1, begin_, end_}};
    r.data_directory = cluster_->data_dir();
    return backup::archive_changes(r);
  }

  // Archived segments of the stretch before the one holding its end.
  std::vector<std::string> stretch_segments() {
    std::vector<std::string> out;
    for (const auto& s : archived_segments(*repo_)) {
      auto seg = pg::parse_segment_file_name(s, kSegmentBytes);
      if (seg->segno >= pg::segment_number(begin_, kSegmentBytes) && seg->segno < pg::segment_number(end_, kSegmentBytes))
        out.push_back(s);
    }
    return out;
  }

  // The wal_continuity check of a verify run.
  nlohmann::json wal_check() {
    static int n = 0;
    std::string path = work_->file("verify-" + std::to_string(++n) + ".json");
    auto v = pgdr({"verify", "--report", path}, {"PGDR_CATALOG=" + work_->file("catalog.db")});
    std::ifstream in(path);
    EXPECT_TRUE(in) << v.out << v.err;
    if (!in) return {};
    auto report = nlohmann::json::parse(in);
    for (const auto& c : report["checks"])
      if (c["name"] == "wal_continuity") return c;
    ADD_FAILURE() << report.dump(2);
    return {};
  }

  std::size_t table_blocks(const pg::ChangeMap& map) {
    std::vector<std::uint32_t> blocks;
    map.blocks_in(table_, 0, 1u << 31, blocks);
    return blocks.size();
  }

  pg::Lsn begin_, end_;
  std::uint64_t sysid_ = 0;
  pg::RelationFork table_;
  std::unique_ptr<repo::Repository> repo_;
};

TEST_F(ArchiveChangesIntegrationTest, ArchivePushWritesSummariesAndTheMapIsBuiltFromThem) {
  auto segments = stretch_segments();
  ASSERT_GE(segments.size(), 3u);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    auto s = repo::read_segment_summary(*repo_, segments[i]);
    ASSERT_TRUE(s) << "no summary of " << segments[i];
    EXPECT_EQ(s->system_identifier, sysid_);
    EXPECT_EQ(s->major, cluster_->major());
    EXPECT_GT(s->records, 0u);
    // The archiver pushes a segment while the one before is still in pg_wal.
    if (i > 0) {
      EXPECT_TRUE(s->head_complete) << segments[i];
    }
  }
  EXPECT_TRUE(fs::exists(repo_dir_ + "/wal/00000001/" + segments[0] + ".summary"));

  auto r = build();
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.rebuilt, 0u);
  EXPECT_GE(r.from_summaries, segments.size());
  EXPECT_EQ(r.from_pg_wal, 1u) << "the segment holding the end is not archived yet";
  // 80000 rows of about 130 bytes: over 1000 heap pages, every one of them new in the stretch.
  EXPECT_GT(table_blocks(*r.map), 1000u);

  // verify reads every summary: a damaged one is a warning, not a gap or damaged WAL.
  EXPECT_EQ(wal_check()["details"]["summaries"], archived_segments(*repo_).size());
  {
    std::string object = repo_dir_ + "/" + repo::summary_object(segments[1]);
    std::fstream f(object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  auto check = wal_check();
  EXPECT_EQ(check["status"], "WARN") << check.dump(2);
  EXPECT_EQ(check["details"]["damaged_summaries"], 1) << check.dump(2);
  EXPECT_TRUE(check["details"]["gaps"].empty()) << check.dump(2);
  auto rebuilt = build();
  ASSERT_TRUE(rebuilt.map) << rebuilt.reason;
  EXPECT_EQ(rebuilt.rebuilt, 1u);
  EXPECT_TRUE(*rebuilt.map == *r.map);
}

TEST_F(ArchiveChangesIntegrationTest, KillBetweenSegmentAndSummaryIsRepairedByTheMapBuilder) {
  auto intact = build();
  ASSERT_TRUE(intact.map) << intact.reason;
  auto segments = stretch_segments();
  ASSERT_GE(segments.size(), 3u);
  // The segment is pushed again as if for the first time (from a copy: the checkpoint that ended
  // the stretch has removed it from pg_wal, and with it the segment before), and the push dies
  // where the segment is durable and its summary not yet written.
  const std::string victim = segments[1];
  const std::string dir = work_->make_dir("archiver", 0700);
  {
    auto content = repo::fetch_wal_file(*repo_, victim);
    ASSERT_TRUE(content);
    write_file_durably(dir + "/" + victim, *content, 0600);
  }
  give_to_server_user(dir);  // pgdr runs as the server user, as PostgreSQL's archiver does
  fs::remove(repo_dir_ + "/" + repo::wal_object(victim));
  fs::remove(repo_dir_ + "/" + repo::summary_object(victim));
  auto killed = pgdr({"archive-push", dir + "/" + victim}, {"PGDR_TEST_KILL_AT=archive-push-before-summary"});
  give_to_server_user(repo_dir_);
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  EXPECT_TRUE(fs::exists(repo_dir_ + "/" + repo::wal_object(victim)));
  EXPECT_FALSE(fs::exists(repo_dir_ + "/" + repo::summary_object(victim)));

  auto r = build();
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.rebuilt, 1u);
  EXPECT_TRUE(*r.map == *intact.map);

  // PostgreSQL retries a push that did not report success: the retry finds the segment archived
  // and writes the missing summary, without its head (the segment before is not beside it). The
  // map builder repairs that link with the archived segment before it.
  auto again = pgdr({"archive-push", dir + "/" + victim});
  give_to_server_user(repo_dir_);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  auto summary = repo::read_segment_summary(*repo_, victim);
  ASSERT_TRUE(summary);
  auto repaired = build();
  ASSERT_TRUE(repaired.map) << repaired.reason;
  // Complete only when no record crosses into the segment.
  EXPECT_EQ(repaired.rebuilt, summary->head_complete ? 0u : 1u);
  EXPECT_TRUE(*repaired.map == *intact.map);
}

TEST_F(ArchiveChangesIntegrationTest, DeletedSummaryIsRebuilt) {
  auto intact = build();
  ASSERT_TRUE(intact.map) << intact.reason;
  auto segments = stretch_segments();
  ASSERT_GE(segments.size(), 3u);
  fs::remove(repo_dir_ + "/" + repo::summary_object(segments[1]));
  auto r = build();
  ASSERT_TRUE(r.map) << r.reason;
  EXPECT_EQ(r.rebuilt, 1u);
  EXPECT_TRUE(*r.map == *intact.map);
}

TEST_F(ArchiveChangesIntegrationTest, DeletedSegmentGivesNoMapAndAOneLineReason) {
  // Two checkpoints past the stretch's archived segments: PostgreSQL removes or recycles them.
  cluster_->psql("SELECT pg_switch_wal()");
  cluster_->psql("CHECKPOINT");
  cluster_->psql("CHECKPOINT");
  std::string victim;
  for (const auto& s : stretch_segments())
    if (!fs::exists(cluster_->data_dir() + "/pg_wal/" + s)) victim = s;
  ASSERT_FALSE(victim.empty()) << "every segment of the stretch is still in pg_wal";
  fs::remove(repo_dir_ + "/" + repo::wal_object(victim));
  fs::remove(repo_dir_ + "/" + repo::summary_object(victim));
  auto r = build();
  EXPECT_FALSE(r.map);
  EXPECT_EQ(r.reason, "WAL segment " + victim + " is missing: not archived in " + repo_->describe() + ", not in " +
                          cluster_->data_dir() + "/pg_wal");
  EXPECT_EQ(r.reason.find('\n'), std::string::npos);
}

class StreamSummaryTest : public WalStreamTest {};

TEST_F(StreamSummaryTest, WalStreamWritesASummaryForEachSegmentItCompletes) {
  pgdr_ok({"init"});
  start_stream({"--create-slot"});
  wait_connected(*cluster_);
  cluster_->psql("CREATE TABLE t (id int, pad text)");
  for (int i = 0; i < 3; ++i) {
    cluster_->psql("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
    cluster_->psql("SELECT pg_switch_wal()");
  }
  cluster_->psql("INSERT INTO t VALUES (0, 'next segment')");
  wait_streamed(*cluster_);
  auto repo = open_repo(repo_dir_);
  auto segments = archived_segments(repo);
  ASSERT_GE(segments.size(), 3u);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    auto s = repo::read_segment_summary(repo, segments[i]);
    ASSERT_TRUE(s) << "no summary of " << segments[i] << "\n" << stream_->log();
    EXPECT_EQ(s->major, cluster_->major());
    // The receiver holds each completed segment for the next one's head.
    if (i > 0) {
      EXPECT_TRUE(s->head_complete) << segments[i];
    }
  }
  EXPECT_EQ(stream_->log().find("summar"), std::string::npos) << stream_->log();
}

}  // namespace
}  // namespace pgdr::test
