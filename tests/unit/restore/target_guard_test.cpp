// The checks that keep a restore off running clusters and off directories that are not its
// cluster's, and the lock that keeps a second restore off its target; no server needed: running
// clusters are a postmaster.pid naming this test process, or a process table built in a directory.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "../storage/temp_dir.h"
#include "core/error.h"
#include "core/file.h"
#include "core/little_endian.h"
#include "core/path.h"
#include "pg/crc32c.h"
#include "restore/live_clusters.h"
#include "restore/target_guard.h"
#include "restore/target_lock.h"

namespace pgdr::restore {
namespace {

class TargetGuardTest : public ::testing::Test {
 protected:
  std::string dir(const std::string& rel) {
    std::string p = tmp_.path() + "/" + rel;
    make_directories(p, 0700);
    return resolved_path(p);
  }
  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  // A data directory: PG_VERSION, and a global/pg_control of 15's format (1300) for system_id,
  // its CRC over the 288 bytes before it.
  std::string data_dir(const std::string& rel, std::uint64_t system_id) {
    std::string d = dir(rel);
    write(d + "/PG_VERSION", "15\n");
    make_directories(d + "/global", 0700);
    Bytes control;
    put_u64le(control, system_id);
    put_u32le(control, 1300);
    control.resize(288);
    put_u32le(control, pg::crc32c(control));
    control.resize(8192);
    write_file_durably(d + "/global/pg_control", control, 0600);
    return d;
  }
  static long dead_pid() {
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
    return child;
  }
  pgdr::test::TempDir tmp_;
};

TEST_F(TargetGuardTest, PostmasterPidCountsOnlyForALiveProcess) {
  std::string d = dir("pg");
  EXPECT_FALSE(live_postmaster_pid(d));
  write(d + "/postmaster.pid", std::to_string(dead_pid()) + "\n" + d + "\n");
  EXPECT_FALSE(live_postmaster_pid(d));
  write(d + "/postmaster.pid", "garbage\n");
  EXPECT_FALSE(live_postmaster_pid(d));
  write(d + "/postmaster.pid", std::to_string(getpid()) + "\n" + d + "\n");
  EXPECT_EQ(live_postmaster_pid(d), getpid());
}

TEST_F(TargetGuardTest, ClustersAreFoundThroughTheParentsOfAPath) {
  std::string pg = dir("srv/pg");
  std::string ts = dir("srv/ts");
  ASSERT_EQ(symlink(ts.c_str(), (dir("srv/pg/pg_tblspc") + "/16400").c_str()), 0);
  write(pg + "/postmaster.pid", std::to_string(getpid()) + "\n");
  auto live = find_live_clusters({{pg + "/base/restored"}, ""});
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].data_dir, pg);
  EXPECT_EQ(live[0].postmaster_pid, getpid());
  EXPECT_EQ(live[0].tablespaces, std::vector<std::string>{ts});
  EXPECT_TRUE(find_live_clusters({{dir("elsewhere")}, ""}).empty());
}

// A process table: 300 a postmaster (its parent is init), 301 its checkpointer, 302 a postmaster
// whose cwd cannot be read, 303 a postgres process not in a data directory (starting, or
// `postgres -C`), 1 init.
TEST_F(TargetGuardTest, ClustersAreFoundInTheProcessTable) {
  std::string pg = dir("pg");
  std::string ts = dir("ts");
  ASSERT_EQ(symlink(ts.c_str(), (dir("pg/pg_tblspc") + "/16500").c_str()), 0);
  std::string proc = dir("proc");
  auto process = [&](const std::string& pid, const std::string& comm, const std::string& ppid, const std::string& cwd) {
    std::string p = dir("proc/" + pid);
    write(p + "/comm", comm + "\n");
    write(p + "/stat", pid + " (" + comm + ") S " + ppid + " 1 1 0 -1\n");
    if (!cwd.empty()) {
      ASSERT_EQ(symlink(cwd.c_str(), (p + "/cwd").c_str()), 0);
    }
  };
  process("1", "systemd", "0", "/");
  process("300", "postgres", "1", pg);
  process("301", "postgres", "300", pg);
  process("302", "postgres", "1", "");
  process("303", "postgres", "1", "/");
  write(pg + "/PG_VERSION", "15\n");
  write(proc + "/self", "");
  auto live = find_live_clusters({{}, proc});
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].data_dir, pg);
  EXPECT_EQ(live[0].postmaster_pid, 300);
  EXPECT_EQ(live[0].tablespaces, std::vector<std::string>{ts});
}

TEST_F(TargetGuardTest, OverlapNamesHowAPathMeetsACluster) {
  LiveCluster c{"/srv/pg", 812, {"/srv/ts"}};
  EXPECT_EQ(live_overlap(c, "/srv/pg"), "the data directory of the running cluster with postmaster pid 812");
  EXPECT_EQ(live_overlap(c, "/srv/pg/copy"),
            "inside the data directory /srv/pg of the running cluster with postmaster pid 812");
  EXPECT_EQ(live_overlap(c, "/srv"), "holds the data directory /srv/pg of the running cluster with postmaster pid 812");
  EXPECT_EQ(live_overlap(c, "/srv/ts"), "a tablespace location of the running cluster with postmaster pid 812 at /srv/pg");
  EXPECT_EQ(live_overlap(c, "/srv/ts/x"),
            "inside /srv/ts, a tablespace location of the running cluster with postmaster pid 812 at /srv/pg");
  EXPECT_FALSE(live_overlap(c, "/srv/pg2"));
  EXPECT_FALSE(live_overlap(c, "/srv/tsx"));
}

TEST_F(TargetGuardTest, RefusalsAreOneLineWithAHint) {
  std::vector<LiveCluster> live = {{"/srv/pg", 812, {"/srv/ts"}}};
  try {
    refuse_live_location(live, "16400", "/srv/ts");
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_STREQ(e.what(),
                 "refusing to restore tablespace 16400 into a running cluster's files: /srv/ts (a tablespace location "
                 "of the running cluster with postmaster pid 812 at /srv/pg)");
    EXPECT_EQ(e.hint(), "map it elsewhere with --tablespace-map 16400=DIR");
  }
  try {
    refuse_live_target(live, "/srv/pg");
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "refusing to restore over a running server: /srv/pg (postmaster pid 812)");
  }
  EXPECT_THROW(refuse_live_target(live, "/srv/pg/base/copy"), Error);
  EXPECT_NO_THROW(refuse_live_target(live, "/srv/copy"));
  EXPECT_NO_THROW(refuse_live_location(live, "16400", "/srv/ts-copy"));
}

TEST_F(TargetGuardTest, DeltaTakesOnlyAnEmptyDirectoryOrTheSameCluster) {
  std::string empty = dir("empty");
  EXPECT_FALSE(delta_refusal(empty, "7001", ""));
  write(empty + "/" + std::string(TargetLock::kFileName), "pid=1\n");
  EXPECT_FALSE(delta_refusal(empty, "7001", "")) << "the lock file does not count";

  std::string docs = dir("docs");
  write(docs + "/thesis.txt", "four years");
  EXPECT_EQ(delta_refusal(docs, "7001", ""),
            "not empty, and not a PostgreSQL data directory: no PG_VERSION or global/pg_control");

  std::string same = data_dir("same", 7001);
  EXPECT_EQ(control_system_identifier(same), "7001");
  EXPECT_FALSE(delta_refusal(same, "7001", ""));
  EXPECT_EQ(delta_refusal(same, "7002", ""),
            "a data directory of another cluster: system identifier 7001, the snapshot's is 7002");

  // A damaged pg_control is no evidence of which cluster the directory holds.
  std::string damaged = data_dir("damaged", 7001);
  Bytes control = *read_file(damaged + "/global/pg_control");
  control[3] ^= 0x40;
  write_file_durably(damaged + "/global/pg_control", control, 0600);
  try {
    delta_refusal(damaged, "7001", "");
    FAIL() << "a damaged pg_control was trusted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "damaged pg_control: " + damaged + "/global/pg_control (CRC mismatch)");
  }

  // An unfinished restore has no pg_control: the lock file's record of it decides.
  EXPECT_FALSE(delta_refusal(docs, "7001", "7001"));
  EXPECT_EQ(delta_refusal(docs, "7001", "7002"),
            "an unfinished restore of another cluster: system identifier 7002, the snapshot's is 7001");
}

TEST_F(TargetGuardTest, LockExcludesASecondHolderAndNamesTheFirst) {
  std::string target = dir("target");
  const std::string file = target + "/" + std::string(TargetLock::kFileName);
  {
    TargetLock first = TargetLock::acquire(target);
    EXPECT_TRUE(first.unfinished_system_identifier().empty());
    try {
      TargetLock::acquire(target);
      FAIL() << "a second lock was granted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::locked);
      EXPECT_EQ(std::string(e.what()), "restore target is locked: " + target + " (another restore writes it, pid " +
                                           std::to_string(getpid()) + ")");
      EXPECT_FALSE(e.hint().empty());
    }
  }
  EXPECT_FALSE(access(file.c_str(), F_OK) == 0) << "a lock that wrote nothing leaves no file";

  {
    TargetLock writing = TargetLock::acquire(target);
    writing.mark_writing("20260101T000000.000Z-abcd", "7001");
  }
  ASSERT_EQ(access(file.c_str(), F_OK), 0) << "an unfinished restore stays marked";
  {
    TargetLock again = TargetLock::acquire(target);
    EXPECT_EQ(again.unfinished_system_identifier(), "7001");
  }
  ASSERT_EQ(access(file.c_str(), F_OK), 0) << "a refused restore keeps the earlier record";
  {
    TargetLock again = TargetLock::acquire(target);
    EXPECT_EQ(again.unfinished_system_identifier(), "7001");
    again.mark_writing("20260102T000000.000Z-abcd", "7001");
    again.finish();
  }
  EXPECT_NE(access(file.c_str(), F_OK), 0) << "a completed restore removes the file";
  TargetLock fresh = TargetLock::acquire(target);
  EXPECT_TRUE(fresh.unfinished_system_identifier().empty());
}

}  // namespace
}  // namespace pgdr::restore
