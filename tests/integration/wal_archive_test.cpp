// WAL archiving through pgdr archive-push, recovery through archive-get: point-in-time restores by
// time, LSN, xid and restore point; restore to latest; timelines; gaps, damage and outages.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "wal_archive_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

TEST_F(WalArchiveTest, PointInTimeByTimeLsnXidAndName) {
  pgdr_ok({"init"});
  create_batches_table();
  backup();
  Batch b1 = commit_batch(1);
  Batch b2 = commit_batch(2);
  cluster_->psql("SELECT pg_create_restore_point('after_batch_2')");
  commit_batch(3);
  archive_now(*cluster_);

  EXPECT_EQ(restore_and_query({"--time", b1.time_after}, kBatchesPresent), "1");
  EXPECT_EQ(restore_and_query({"--lsn", b2.lsn_after}, kBatchesPresent), "1,2");
  EXPECT_EQ(restore_and_query({"--xid", b2.xid}, kBatchesPresent), "1,2");
  EXPECT_EQ(restore_and_query({"--name", "after_batch_2"}, kBatchesPresent), "1,2");
  EXPECT_EQ(restore_and_query({}, kBatchesPresent), "1,2,3");
  EXPECT_EQ(restore_and_query({"--immediate"}, "SELECT count(*) FROM batches"), "0");

  // The archive's range shows in info, per timeline, without gaps.
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto tl = info["repositories"][0]["wal_archive"]["timelines"];
  ASSERT_GE(tl.size(), 1u);
  EXPECT_EQ(tl[0]["timeline"], 1);
  EXPECT_TRUE(tl[0]["gaps"].empty());
}

TEST_F(WalArchiveTest, LatestHasEveryArchivedCommit) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE counter (n bigint); INSERT INTO counter VALUES (0);");
  backup();
  // Over 200 MB of WAL: bulk rows and many small committed increments.
  cluster_->psql("CREATE TABLE bulk AS SELECT g, md5(g::text) || md5((g + 1)::text) AS v FROM generate_series(1, 1500000) g");
  auto r = cluster_->run_as_server_user({"bash", "-c",
                                         "for i in $(seq 1 400); do echo 'UPDATE counter SET n = n + 1;'; done | " +
                                             PgCluster::bin("psql") + " -XAtq -h 127.0.0.1 -p " +
                                             std::to_string(cluster_->port()) + " postgres >/dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string wal_bytes = cluster_->psql("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn");
  EXPECT_GT(std::stoull(wal_bytes), 200ull << 20);
  archive_now(*cluster_);
  std::string source = cluster_->psql("SELECT n FROM counter") + "/" + cluster_->psql("SELECT count(*) FROM bulk");
  cluster_->kill9();
  EXPECT_EQ(restore_and_query({}, "SELECT (SELECT n FROM counter) || '/' || (SELECT count(*) FROM bulk)"), source);
  EXPECT_EQ(source, "400/1500000");
}

TEST_F(WalArchiveTest, NewTimelineIsFollowed) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t (v text); INSERT INTO t VALUES ('timeline 1');");
  std::string first = backup();
  archive_now(*cluster_);
  cluster_->stop();
  // Restore and promote: timeline 2, which archives into the same repository.
  std::string dir = work_->file("tl2");
  pgdr_ok({"restore", "--target-dir", dir});
  {
    PgCluster promoted(PgCluster::Adopt{dir}, archiving({}));
    wait_recovered(promoted);
    EXPECT_EQ(promoted.psql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), "00000002");
    promoted.psql("INSERT INTO t VALUES ('timeline 2')");
    archive_now(promoted);
  }
  // From the timeline-1 snapshot, recovery follows the history file onto timeline 2.
  EXPECT_EQ(restore_and_query({"--snapshot", first}, "SELECT string_agg(v, ',' ORDER BY v) FROM t"),
            "timeline 1,timeline 2");
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto wal = info["repositories"][0]["wal_archive"];
  EXPECT_EQ(wal["timelines"].size(), 2u);
  EXPECT_NE(wal["history_files"].dump().find("00000002.history"), std::string::npos) << wal.dump();
}

TEST_F(WalArchiveTest, GapIsNamedByRestoreInfoAndArchiveGet) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t (v int)");
  backup();
  for (int i = 0; i < 4; ++i) {
    cluster_->psql("INSERT INTO t SELECT generate_series(1, 1000)");
    archive_now(*cluster_);
  }
  auto objects = wal_objects();
  std::vector<std::string> segments;
  for (const auto& o : objects)
    if (fs::path(o).filename().string().size() == 24) segments.push_back(o);
  ASSERT_GE(segments.size(), 4u);
  std::string victim = segments[segments.size() - 2];
  std::string name = fs::path(victim).filename();
  fs::remove(victim);

  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto gaps = info["repositories"][0]["wal_archive"]["timelines"][0]["gaps"];
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0]["first_missing"], name);

  auto r = pgdr({"restore", "--target-dir", work_->file("gap")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("WAL segment " + name + " is missing from the archive"), std::string::npos) << r.err;

  auto get = pgdr({"archive-get", name, work_->file("fetched")});
  EXPECT_EQ(get.exit_code, 126) << get.err;
  EXPECT_NE(get.err.find(name + " is missing from"), std::string::npos) << get.err;
  EXPECT_NE(get.err.find("a gap in the archive"), std::string::npos) << get.err;
}

TEST_F(WalArchiveTest, DamagedSegmentIsRefusedAndNamed) {
  pgdr_ok({"init"});
  backup();
  cluster_->psql("CREATE TABLE t AS SELECT generate_series(1, 10000) v");
  archive_now(*cluster_);
  std::string victim;
  for (const auto& o : wal_objects())
    if (fs::path(o).filename().string().size() == 24) victim = o;
  ASSERT_FALSE(victim.empty());
  std::string name = fs::path(victim).filename();
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  std::string dest = work_->file("RECOVERYXLOG");
  auto r = pgdr({"archive-get", "--prefetch", "0", name, dest});
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.err.find("corrupt object wal/00000001/" + name), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dest));
  // Absent (the end of the archive) is a quiet exit 1.
  auto absent = pgdr({"archive-get", "0000000100000000000000FF", dest});
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_EQ(absent.err, "");
}

// Recovery calls archive-get once per segment, and for files that do not exist; each call that
// opens a repository pays a key derivation. A segment served from the prefetch spool while the
// next one is spooled too opens none: it is served even with the repository out of reach, and
// says nothing. The call that takes the spool's last segment refills it. A file no repository
// holds is answered from listings.
TEST_F(WalArchiveTest, SpooledAndAbsentFilesAreAnsweredWithoutOpeningTheRepository) {
  pgdr_ok({"init"});
  backup();
  for (int i = 0; i < 6; ++i) {
    cluster_->psql("CREATE TABLE t" + std::to_string(i) + " AS SELECT generate_series(1, 1000) v");
    archive_now(*cluster_);
  }
  std::vector<std::string> segments;
  for (const auto& o : wal_objects())
    if (fs::path(o).filename().string().size() == 24) segments.push_back(fs::path(o).filename());
  std::sort(segments.begin(), segments.end());
  ASSERT_GE(segments.size(), 6u);
  const std::string dir = work_->make_dir("recovery", 0700);
  auto get = [&](const std::string& name, std::vector<std::string> env = {}) {
    return pgdr({"archive-get", "--prefetch", "3", name, dir + "/RECOVERYXLOG"}, env);
  };
  auto first = get(segments[0]);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(fs::exists(dir + "/pgdr-prefetch/" + segments[i])) << segments[i];

  // The repository cannot be opened (wrong passphrase): the next two come from the spool, quietly.
  const std::vector<std::string> locked_out = {"PGDR_PASSPHRASE=not the passphrase"};
  for (int i = 1; i <= 2; ++i) {
    auto r = get(segments[i], locked_out);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "") << segments[i];
  }
  // The spool's last segment is served too, but that call refills the spool and so needs the
  // repository: it says it could not open it.
  auto last = get(segments[3], locked_out);
  EXPECT_EQ(last.exit_code, 0) << last.err;
  EXPECT_NE(last.err.find("wrong passphrase"), std::string::npos) << last.err;
  // With the repository back, the refill works and recovery goes on from the spool.
  auto refill = get(segments[3]);
  EXPECT_EQ(refill.exit_code, 0) << refill.err;
  EXPECT_TRUE(fs::exists(dir + "/pgdr-prefetch/" + segments[4]));
  auto next = get(segments[4], locked_out);
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(next.err, "");

  // What no repository holds is answered from listings, before any key is derived: the end of the
  // archive and the next timeline's history file, as recovery asks for them when it ends.
  for (const std::string name : {"0000000100000000000000FF", "00000002.history"}) {
    auto absent = pgdr({"archive-get", name, dir + "/RECOVERYHISTORY"}, locked_out);
    EXPECT_EQ(absent.exit_code, 1) << name << ": " << absent.err;
    EXPECT_EQ(absent.err, "") << name;
  }
}

TEST_F(WalArchiveTest, PushIsIdempotentAndRefusesDifferentContent) {
  pgdr_ok({"init"});
  // A real segment (archive-push refuses what is not one): the one being written, not archived yet.
  const std::string name = cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
  std::string content = read_whole(cluster_->data_dir() + "/pg_wal/" + name);
  std::string seg = work_->write_file(name, content, 0600);
  pgdr_ok({"archive-push", seg});
  pgdr_ok({"archive-push", seg});  // the archiver retries after a crash: fine
  content[content.size() - 1] ^= 1;
  work_->write_file(name, content, 0600);
  auto r = pgdr({"archive-push", seg});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("WAL file " + name + " is already archived in repository 'local'"), std::string::npos)
      << r.err;
  auto bad = pgdr({"archive-push", work_->write_file("not-a-wal-file", "x")});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST_F(WalArchiveTest, UnreachableRepositoryDuringArchivingLosesNothing) {
  pgdr_ok({"init"});
  backup();
  // The repository's WAL directory becomes unwritable: archive-push fails, PostgreSQL keeps the
  // segments and retries.
  fs::create_directories(repo_dir_ + "/wal/00000001");
  give_to_server_user(repo_dir_ + "/wal");
  ASSERT_EQ(chmod((repo_dir_ + "/wal/00000001").c_str(), 0500), 0);
  cluster_->psql("CREATE TABLE t AS SELECT generate_series(1, 100000) v");
  std::string first_missing = cluster_->psql("SELECT pg_walfile_name(pg_switch_wal())");
  cluster_->psql("INSERT INTO t SELECT generate_series(1, 100000)");
  cluster_->psql("SELECT pg_switch_wal()");
  for (int i = 0; i < 100 && cluster_->psql("SELECT failed_count FROM pg_stat_archiver") == "0"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(cluster_->psql("SELECT failed_count FROM pg_stat_archiver"), "0");
  EXPECT_NE(cluster_->log().find("archive command failed"), std::string::npos);
  ASSERT_EQ(chmod((repo_dir_ + "/wal/00000001").c_str(), 0700), 0);
  archive_now(*cluster_);
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto tl = info["repositories"][0]["wal_archive"]["timelines"][0];
  EXPECT_TRUE(tl["gaps"].empty()) << tl.dump();
  EXPECT_LE(tl["first_segment"].get<std::string>(), first_missing);
  std::string source = cluster_->psql("SELECT count(*) FROM t");
  cluster_->kill9();
  EXPECT_EQ(restore_and_query({}, "SELECT count(*) FROM t"), source);
}

class ParallelArchiveTest : public WalArchiveTest {
 protected:
  PgClusterOptions cluster_options() override {
    auto o = archiving({});
    o.archive_command += " --parallel 4";
    return o;
  }
};

TEST_F(ParallelArchiveTest, SegmentsPushedAheadAreAllArchivedOnce) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t (v text)");
  backup();
  // A burst of segments: the archiver falls behind and finds several ready at once.
  for (int i = 0; i < 12; ++i) {
    cluster_->psql("INSERT INTO t SELECT md5(g::text) FROM generate_series(1, 2000) g");
    cluster_->psql("SELECT pg_switch_wal()");
  }
  archive_now(*cluster_);
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto tl = info["repositories"][0]["wal_archive"]["timelines"][0];
  EXPECT_TRUE(tl["gaps"].empty()) << tl.dump();
  EXPECT_GE(tl["segments"].get<int>(), 12);
  EXPECT_EQ(cluster_->psql("SELECT failed_count FROM pg_stat_archiver"), "0");
  // Every marker left by a push ahead was consumed by PostgreSQL's own call for that segment.
  std::string markers = cluster_->data_dir() + "/pg_wal/pgdr-archived";
  std::size_t left = 0;
  if (fs::exists(markers))
    for (const auto& e : fs::directory_iterator(markers)) left += e.is_regular_file();
  EXPECT_EQ(left, 0u);
  std::string source = cluster_->psql("SELECT count(*) FROM t");
  cluster_->kill9();
  EXPECT_EQ(restore_and_query({}, "SELECT count(*) FROM t"), source);
}

TEST_F(WalArchiveTest, KilledPushNeverLeavesAServableSegment) {
  pgdr_ok({"init"});
  // A real segment, as archive-push stores nothing else: the one being written, not archived yet.
  const std::string name = cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
  const std::string content = read_whole(cluster_->data_dir() + "/pg_wal/" + name);
  std::string seg = work_->write_file(name, content, 0600);
  for (const char* delay : {"0.05", "0.12", "0.2", "0.3"}) {
    run_as_server_user({"timeout", "-s", "KILL", delay, pgdr_path(), "--config", config_, "archive-push", seg}, {},
                       {std::string("PGDR_PASSPHRASE=") + kPassphrase});
    std::string dest = work_->file("fetched");
    fs::remove(dest);
    auto r = pgdr({"archive-get", "--prefetch", "0", name, dest});
    if (r.exit_code == 0) {
      std::ifstream in(dest, std::ios::binary);
      std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(got, content) << "after a kill at " << delay << " s";
    } else {
      EXPECT_EQ(r.exit_code, 1) << r.err;  // not archived at all: never a partial copy
    }
  }
}

}  // namespace
}  // namespace pgdr::test
