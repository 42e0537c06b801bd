// pgdr wal-stream against real servers: no WAL archive at all, only the streamed WAL. Synchronous
// streaming keeps every acknowledged commit through a kill -9 of the primary; asynchronous
// streaming loses at most about a second; a restart mid-segment and an outage of the repository
// lose nothing; a promotion (timeline switch) is followed; a standby built from the repository
// replays the segment being streamed; bad slots and roles are refused clearly.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "wal_stream_fixture.h"
#include "repo/repository.h"
#include "repo/wal_archive.h"
#include "repo/wal_stream_objects.h"
#include "storage/open_storage.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST_F(WalStreamTest, SynchronousStreamingKeepsEveryAcknowledgedCommitThroughKill9) {
  expect_synchronous_stream_keeps_acknowledged_commits_through_kill9();
}

class AsyncWalStreamTest : public WalStreamTest {
 protected:
  std::string stream_settings() override { return "[stream]\nretry_max = \"1s\"\n"; }  // flush every 1 s
};

TEST_F(AsyncWalStreamTest, AsynchronousStreamingLosesAtMostAboutASecond) {
  pgdr_ok({"init"});
  start_stream({"--create-slot"});
  wait_connected(*cluster_);
  backup();
  Load load;
  start_load(load, *cluster_, 4);
  std::this_thread::sleep_for(5s);
  cluster_->kill9();
  load.join();
  auto last_ack = *std::max_element(load.last_ack.begin(), load.last_ack.end());
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();

  auto restored = restore_latest("restored");
  ASSERT_TRUE(restored);
  double newest = std::stod(restored->psql("SELECT extract(epoch FROM max(at)) FROM acks"));
  double loss = std::chrono::duration<double>(last_ack.time_since_epoch()).count() - newest;
  std::printf("asynchronous: newest restored commit %.3f s before the last acknowledged one\n", loss);
  EXPECT_LT(loss, 3.0);
  EXPECT_GT(std::stoll(restored->psql("SELECT count(*) FROM acks")), 0);
}

TEST_F(WalStreamTest, RestartMidSegmentLosesNothing) {
  pgdr_ok({"init"});
  start_stream({"--create-slot"});
  wait_connected(*cluster_);
  backup();
  cluster_->psql("CREATE TABLE t (id int PRIMARY KEY, note text)");
  cluster_->psql("INSERT INTO t SELECT g, 'first' FROM generate_series(1, 1000) g");
  wait_streamed(*cluster_);
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();
  auto s = stream_info();
  ASSERT_TRUE(s.is_object());
  EXPECT_FALSE(s["running"].get<bool>());
  EXPECT_NE(s["partial_segment"].get<std::string>(), "") << "expected to stop mid-segment: " << s.dump();
  EXPECT_GT(s["partial_bytes"].get<std::uint64_t>(), 0u);
  std::string text = pgdr_ok({"info"});
  EXPECT_NE(text.find("  WAL stream: timeline 1, durable up to " + s["flushed_lsn"].get<std::string>() + " (at "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(", partial segment " + s["partial_segment"].get<std::string>() + " ("), std::string::npos)
      << text;
  EXPECT_NE(text.find(", stopped\n"), std::string::npos) << text;
  // A local repository takes each flush as a record of the segment's journal, not as an object.
  {
    std::size_t journals = 0, others = 0;
    for (const auto& o : storage::PosixStorage(repo_dir_).list("stream")) {
      if (o.path.ends_with(".journal")) ++journals;
      else if (o.path != "stream/status") ++others;
    }
    EXPECT_EQ(journals, 1u);
    EXPECT_EQ(others, 0u);
  }

  // What a crash between storing a segment whole and removing its chunks leaves behind.
  std::string complete_segment;
  {
    RepoConfig rc;
    rc.name = "local";
    rc.path = repo_dir_;
    auto repo = repo::Repository::open(storage::open_storage(rc), "local", kPassphrase, "test");
    auto wal = repo::list_wal(repo, 16u << 20);
    ASSERT_FALSE(wal.segments[1].empty());
    complete_segment = pg::segment_file_name(1, wal.segments[1].front(), 16u << 20);
    repo::write_stream_chunk(repo, complete_segment, 0, to_bytes("leftover"));
  }
  give_to_server_user(repo_dir_);  // written by the test process, which may be root

  // Written while nothing receives: the slot keeps it on the server.
  cluster_->psql("INSERT INTO t SELECT g, 'while stopped' FROM generate_series(1001, 2000) g");
  start_stream();
  wait_connected(*cluster_);
  cluster_->psql("INSERT INTO t SELECT g, 'after restart' FROM generate_series(2001, 3000) g");
  wait_streamed(*cluster_);
  // A crash of the receiver itself, mid-segment.
  stream_->kill9();
  cluster_->psql("INSERT INTO t SELECT g, 'after the crash' FROM generate_series(3001, 3500) g");
  start_stream();
  cluster_->psql("SELECT pg_switch_wal()");
  cluster_->psql("INSERT INTO t SELECT g, 'next segment' FROM generate_series(3501, 4000) g");
  wait_connected(*cluster_);
  wait_streamed(*cluster_);
  EXPECT_NE(stream_->log().find("resuming WAL streaming at"), std::string::npos) << stream_->log();
  {
    RepoConfig rc;
    rc.name = "local";
    rc.path = repo_dir_;
    auto repo = repo::Repository::open(storage::open_storage(rc), "local", kPassphrase, "test");
    for (const auto& seg : repo::list_streamed(repo, 16u << 20))
      EXPECT_NE(seg.name, complete_segment) << "chunks of a stored segment were left behind";
  }
  cluster_->kill9();
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();

  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto timelines = info["repositories"][0]["wal_archive"]["timelines"];
  ASSERT_EQ(timelines.size(), 1u) << info.dump();
  EXPECT_TRUE(timelines[0]["gaps"].empty()) << info.dump();
  EXPECT_GE(timelines[0]["segments"].get<int>(), 1);

  auto restored = restore_latest("restored");
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->psql("SELECT count(*) FROM t"), "4000");
}

TEST_F(WalStreamTest, FollowsThePromotionOfTheStandbyItStreamsFrom) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t (id int PRIMARY KEY, note text)");
  std::string dir = work_->file("standby");
  auto bb = PgCluster::run_as_server_user(
      {PgCluster::bin("pg_basebackup"), "-D", dir, "-R", "-X", "stream", "-c", "fast", "-d", cluster_->conninfo()});
  ASSERT_EQ(bb.exit_code, 0) << bb.err;
  PgCluster standby(PgCluster::Adopt{dir});
  // Stream from the standby (cascading), and snapshot the primary once the receiver holds a slot.
  write_config("[stream]\nretry_max = \"1s\"\nflush_interval = \"200ms\"\nconninfo = \"" + standby.conninfo() + "\"\n");
  start_stream({"--create-slot"});
  wait_connected(standby);
  backup();
  cluster_->psql("INSERT INTO t SELECT g, 'timeline 1' FROM generate_series(1, 500) g");
  for (int i = 0; i < 300 && standby.psql("SELECT count(*) FROM t") != "500"; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_EQ(standby.psql("SELECT count(*) FROM t"), "500");
  wait_streamed(standby);

  cluster_->kill9();
  standby.psql("SELECT pg_promote()");
  wait_recovered(standby);
  standby.psql("INSERT INTO t SELECT g, 'timeline 2' FROM generate_series(501, 1000) g");
  wait_streamed(standby);
  auto s = stream_info();
  EXPECT_EQ(s["timeline"], 2) << s.dump() << "\n" << stream_->log();
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto history = info["repositories"][0]["wal_archive"]["history_files"];
  EXPECT_NE(std::find(history.begin(), history.end(), "00000002.history"), history.end()) << info.dump();
  // Timeline 1's last segment, as far as timeline 1 went, is kept as PostgreSQL's archiver keeps it.
  auto partials = info["repositories"][0]["wal_archive"]["partial_files"];
  ASSERT_EQ(partials.size(), 1u) << info.dump();
  EXPECT_TRUE(partials[0].get<std::string>().starts_with("00000001")) << info.dump();
  EXPECT_NE(stream_->log().find("timeline 1 ended at"), std::string::npos) << stream_->log();
  standby.kill9();
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();

  auto restored = restore_latest("restored");
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->psql("SELECT count(*) FROM t"), "1000");
  EXPECT_EQ(restored->psql("SELECT count(*) FROM t WHERE note = 'timeline 2'"), "500");
  EXPECT_EQ(restored->psql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), "00000003");
}

TEST_F(WalStreamTest, AStandbyBuiltFromTheRepositoryFollowsTheSegmentBeingStreamed) {
  pgdr_ok({"init"});
  start_stream({"--create-slot"});
  wait_connected(*cluster_);
  backup();
  std::string dir = work_->file("standby");
  pgdr_ok({"restore", "--standby", "--target-dir", dir});
  PgCluster standby(PgCluster::Adopt{dir}, with_passphrase({}));
  // No segment switch: these rows exist in the repository only as part of the segment in progress.
  cluster_->psql("CREATE TABLE t (id int PRIMARY KEY)");
  cluster_->psql("INSERT INTO t SELECT generate_series(1, 100)");
  std::string segment = cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
  bool seen = false;
  for (int i = 0; i < 300 && !seen; ++i) {
    try {
      seen = standby.psql("SELECT count(*) FROM t") == "100";
    } catch (const Error&) {
      // the table is not replayed yet
    }
    if (!seen) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(seen) << "the standby did not replay the streamed part of " << segment;
  EXPECT_EQ(cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())"), segment) << "the segment was switched";
}

TEST_F(WalStreamTest, RefusesAMissingSlotAndARoleWithoutReplication) {
  pgdr_ok({"init"});
  auto r = pgdr({"wal-stream", "--slot", "no_such_slot"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("pgdr: replication slot 'no_such_slot' does not exist on host=127.0.0.1"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("HINT: run wal-stream once with --create-slot"), std::string::npos) << r.err;
  EXPECT_EQ(cluster_->psql("SELECT count(*) FROM pg_replication_slots"), "0");

  auto bad = pgdr({"wal-stream", "--slot", "Bad-Name"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("invalid replication slot name 'Bad-Name'"), std::string::npos) << bad.err;

  cluster_->psql("CREATE ROLE clerk LOGIN");
  write_config("[stream]\nconninfo = \"host=127.0.0.1 port=" + std::to_string(cluster_->port()) +
               " user=clerk dbname=postgres password=s3cret-pw\"\n");
  auto denied = pgdr({"wal-stream", "--create-slot"});
  EXPECT_EQ(denied.exit_code, 1) << denied.err;
  EXPECT_NE(denied.err.find("unable to open a replication connection to host=127.0.0.1"), std::string::npos)
      << denied.err;
  EXPECT_NE(denied.err.find("replication role"), std::string::npos) << denied.err;
  EXPECT_NE(denied.err.find("HINT: the role needs the REPLICATION attribute"), std::string::npos) << denied.err;
  EXPECT_EQ(denied.err.find("s3cret-pw"), std::string::npos) << denied.err;
  EXPECT_EQ(cluster_->psql("SELECT count(*) FROM pg_replication_slots"), "0");
}

TEST_F(WalStreamTest, RepositoryOutageLosesNothingOnceItIsBack) {
  pgdr_ok({"init"});
  start_stream({"--create-slot"});
  wait_connected(*cluster_);
  backup();
  cluster_->psql("CREATE TABLE t (id int PRIMARY KEY, note text)");
  cluster_->psql("INSERT INTO t SELECT g, 'before' FROM generate_series(1, 500) g");
  wait_streamed(*cluster_);

  std::string away = repo_dir_ + ".away";
  fs::rename(repo_dir_, away);
  std::string slot_before = cluster_->psql("SELECT restart_lsn FROM pg_replication_slots");
  cluster_->psql("INSERT INTO t SELECT g, 'during' FROM generate_series(501, 1000) g");
  cluster_->psql("SELECT pg_switch_wal()");
  cluster_->psql("INSERT INTO t SELECT g, 'during, next segment' FROM generate_series(1001, 1500) g");
  for (int i = 0; i < 100 && stream_->log().find("retrying in") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_NE(stream_->log().find("retrying in"), std::string::npos) << stream_->log();
  EXPECT_TRUE(stream_->running());
  // Once the session ended, a new one finds the repository gone rather than empty.
  for (int i = 0; i < 50 && stream_->log().find("pgdr.repo is missing") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_NE(stream_->log().find("unable to reach repository 'local'"), std::string::npos) << stream_->log();
  // The slot has not moved past what the repository held: the server keeps the WAL.
  EXPECT_EQ(cluster_->psql("SELECT restart_lsn FROM pg_replication_slots"), slot_before);
  fs::rename(away, repo_dir_);

  wait_streamed(*cluster_);
  cluster_->kill9();
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();
  auto restored = restore_latest("restored");
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->psql("SELECT count(*) FROM t"), "1500");
}

class WalStreamWithArchiveTest : public WalStreamTest {
 protected:
  PgClusterOptions cluster_options() override { return archiving({}); }
};

TEST_F(WalStreamWithArchiveTest, CoexistsWithArchivePushStoringEachSegmentOnce) {
  pgdr_ok({"init"});
  start_stream({"--create-slot"});
  wait_connected(*cluster_);
  backup();
  cluster_->psql("CREATE TABLE t (id int PRIMARY KEY, note text)");
  std::string last;
  for (int i = 0; i < 3; ++i) {
    cluster_->psql("INSERT INTO t SELECT g, 'round " + std::to_string(i) + "' FROM generate_series(" +
                   std::to_string(i * 1000 + 1) + ", " + std::to_string(i * 1000 + 1000) + ") g");
    last = cluster_->psql("SELECT pg_walfile_name(pg_switch_wal())");
  }
  for (int i = 0; i < 300 && cluster_->psql("SELECT coalesce(last_archived_wal, '') >= '" + last +
                                            "' FROM pg_stat_archiver") != "t";
       ++i)
    std::this_thread::sleep_for(100ms);
  wait_streamed(*cluster_);
  // Both stored the same segments; neither saw "different content" from the other.
  EXPECT_EQ(cluster_->psql("SELECT failed_count FROM pg_stat_archiver"), "0") << cluster_->log();
  EXPECT_EQ(stream_->log().find("retrying"), std::string::npos) << stream_->log();
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto timelines = info["repositories"][0]["wal_archive"]["timelines"];
  ASSERT_EQ(timelines.size(), 1u) << info.dump();
  EXPECT_TRUE(timelines[0]["gaps"].empty()) << info.dump();
  EXPECT_GE(timelines[0]["last_segment"].get<std::string>(), last) << info.dump();
  cluster_->stop();
  auto restored = restore_latest("restored");
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->psql("SELECT count(*) FROM t"), "3000");
}

// Drill and measure with streamed WAL only (no archive_command): measure's RPO comes from the
// stream, and a drill under synchronous streaming loses nothing.
class StreamDrillTest : public WalStreamTest {
 protected:
  std::string stream_settings() override {
    return WalStreamTest::stream_settings() + "[drill]\ndr_path = \"" + work_->make_dir("dr", 0755) +
           "\"\nheartbeat = true\n[catalog]\npath = \"" + work_->file("catalog.db") + "\"\n";
  }
};

TEST_F(StreamDrillTest, MeasureAndDrillUseTheStreamedWal) {
  pgdr_ok({"init"});
  start_stream({"--create-slot", "--synchronous"});
  wait_connected(*cluster_);
  backup();
  ASSERT_NO_FATAL_FAILURE(make_stream_synchronous());
  cluster_->psql("CREATE TABLE orders (id serial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());"
                 "INSERT INTO orders SELECT FROM generate_series(1, 1000)");
  for (int i = 0; i < 10; ++i) cluster_->psql("INSERT INTO orders DEFAULT VALUES");

  auto m = pgdr({"measure", "--report", work_->file("measure.json")});
  std::ifstream min(work_->file("measure.json"));
  nlohmann::json mj;
  min >> mj;
  const auto& rpo = mj["checks"][0];
  ASSERT_EQ(rpo["name"], "rpo");
  EXPECT_EQ(rpo["details"]["rpo_from"], "wal-stream") << rpo.dump(2);
  EXPECT_EQ(rpo["details"]["wal_stream"]["synchronous"], true) << rpo.dump(2);
  ASSERT_TRUE(mj["rpo_seconds"].is_number()) << mj.dump(2);
  EXPECT_LT(mj["rpo_seconds"].get<double>(), 2.0) << rpo.dump(2);

  auto d = pgdr({"drill", "--report", work_->file("drill.json")});
  std::ifstream din(work_->file("drill.json"));
  nlohmann::json dj;
  din >> dj;
  EXPECT_EQ(d.exit_code, 0) << d.err << dj.dump(2);
  EXPECT_EQ(dj["result"], "PASS") << dj.dump(2);
  EXPECT_TRUE(dj["rpo"].contains("wal_streamed_up_to")) << dj["rpo"].dump(2);
  // Synchronous: the heartbeat itself was durable before it returned, so nothing is lost.
  EXPECT_LE(dj["rpo_seconds"].get<double>(), 0.05) << dj["rpo"].dump(2);
  for (const auto& p : dj["phases"]) {
    if (p["name"] == "integrity") {
      EXPECT_EQ(p["details"]["databases"]["postgres"]["tables_by_verdict"]["identical"], 1) << p.dump(2);
    }
  }
  std::printf("%s\n", dj["rpo"].dump(2).c_str());
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();
}

TEST_F(StreamDrillTest, AsynchronousStreamingUnderLoadLosesSecondsAsTheDrillMeasures) {
  pgdr_ok({"init"});
  start_stream({"--create-slot"});
  wait_connected(*cluster_);
  backup();
  Load load;
  start_load(load, *cluster_, 2);
  std::this_thread::sleep_for(4s);
  // The drill runs while the shop keeps committing: its RPO is what asynchronous streaming had not
  // yet made durable when the drill started.
  auto d = pgdr({"drill", "--report", work_->file("drill.json")});
  load.join();
  std::ifstream din(work_->file("drill.json"));
  nlohmann::json dj;
  din >> dj;
  EXPECT_EQ(d.exit_code, 0) << d.err << dj.dump(2);
  ASSERT_TRUE(dj["rpo_seconds"].is_number()) << dj.dump(2);
  EXPECT_LT(dj["rpo_seconds"].get<double>(), 3.0) << dj["rpo"].dump(2);
  EXPECT_TRUE(dj["rpo"].contains("wal_streamed_up_to")) << dj["rpo"].dump(2);
  std::printf("asynchronous streaming under load: drill RPO %.3f s\n", dj["rpo_seconds"].get<double>());
  EXPECT_EQ(stream_->stop(), 0) << stream_->log();
}

}  // namespace
}  // namespace pgdr::test
