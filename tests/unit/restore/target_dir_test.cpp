// The target directory's steps of a restore, without a server or a repository: where manifest
// paths go, what plan() and prepare() refuse before anything is written, the directories and
// tablespace links, delta mode's removal of what the snapshot lacks, and the lock.
#include "restore/target_dir.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <string>
#include <vector>

#include "../storage/temp_dir.h"
#include "core/error.h"
#include "core/file.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"

namespace pgdr::restore {
namespace {

using repo::EntryType;
using repo::ManifestIndex;

bool exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}
bool is_dir(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class TargetDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_.id = "20260101T000000.000Z-abcd";
    info_.system_identifier = "7001";
    options_.target_dir = tmp_.path() + "/data";
  }
  void dir(const std::string& path, std::uint32_t mode = 0700) { add(path, EntryType::directory, mode); }
  void file(const std::string& path) { add(path, EntryType::file, 0600); }
  void link(const std::string& oid, const std::string& location) {
    add("pg_tblspc/" + oid, EntryType::symlink, 0777);
    entries_.back().file.link_target = location;
  }
  void add(const std::string& path, EntryType type, std::uint32_t mode) {
    ManifestIndex::Entry e;
    e.file.path = path;
    e.file.type = type;
    e.file.mode = mode;
    entries_.push_back(e);
  }
  static void write(const std::string& path, const std::string& text) {
    make_directories(path.substr(0, path.rfind('/')), 0700);
    std::ofstream(path) << text;
  }
  // A data directory of system_id: PG_VERSION and a global/pg_control of 15's format whose CRC
  // holds.
  static void data_dir(const std::string& d, std::uint64_t system_id) {
    write(d + "/PG_VERSION", "15\n");
    Bytes control;
    put_u64le(control, system_id);
    put_u32le(control, 1300);
    control.resize(288);
    put_u32le(control, pg::crc32c(control));
    control.resize(8192);
    make_directories(d + "/global", 0700);
    write_file_durably(d + "/global/pg_control", control, 0600);
  }
  // The Error the step throws (an internal one, and a test failure, when it throws none).
  template <typename Step>
  static Error error_of(Step step) {
    try {
      step();
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "expected an Error";
    return Error(ErrorKind::internal, "<none>");
  }

  pgdr::test::TempDir tmp_;
  RestoreOptions options_;
  repo::SnapshotInfo info_;
  std::vector<ManifestIndex::Entry> entries_;
};

TEST_F(TargetDirTest, TheTargetIsMadeAbsoluteAndEveryPathGoesWhereItBelongs) {
  options_.target_dir = tmp_.path() + "/data//";
  EXPECT_EQ(TargetDir(options_, info_, entries_).path(), tmp_.path() + "/data");
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  options_.target_dir = "relative/data";
  EXPECT_EQ(TargetDir(options_, info_, entries_).path(), std::string(cwd) + "/relative/data");

  options_.target_dir = tmp_.path() + "/data";
  link("16400", "/old/a");
  link("16401", "/old/b");
  options_.tablespace_map = {{"16400", tmp_.path() + "/by-oid"}, {"/old/b", tmp_.path() + "/by-location"}};
  TargetDir t(options_, info_, entries_);
  t.plan();
  EXPECT_EQ(t.destination("base/1/1259"), tmp_.path() + "/data/base/1/1259");
  EXPECT_EQ(t.destination("pg_tblspc/16400"), tmp_.path() + "/data/pg_tblspc/16400");
  EXPECT_EQ(t.destination("pg_tblspc/16400/PG_15_202209061/5/16384"), tmp_.path() + "/by-oid/PG_15_202209061/5/16384");
  EXPECT_EQ(t.destination("pg_tblspc/16401/PG_15_202209061"), tmp_.path() + "/by-location/PG_15_202209061");
  Error e = error_of([&] { t.destination("pg_tblspc/99/PG_15_202209061"); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "refusing 'pg_tblspc/99/PG_15_202209061' in snapshot " + info_.id +
                                       " (under no tablespace)");
  EXPECT_FALSE(exists(tmp_.path() + "/data")) << "plan writes nothing";
}

TEST_F(TargetDirTest, PlanRefusesLinksThatAreNoTablespacesAndLocationsThatAreNotPlain) {
  add("base/evil", EntryType::symlink, 0777);
  Error e = error_of([&] { TargetDir(options_, info_, entries_).plan(); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "refusing symbolic link 'base/evil' in snapshot " + info_.id +
                                       " (links are only restored for tablespaces)");
  for (const std::string location : {"relative/ts", "/srv/../etc", "/srv/./ts", "/srv/ts/.."}) {
    entries_.clear();
    link("16400", location);
    Error bad = error_of([&] { TargetDir(options_, info_, entries_).plan(); });
    EXPECT_EQ(std::string(bad.what()), "refusing tablespace location '" + location + "' in snapshot " + info_.id +
                                           " (not a plain absolute path)");
  }
}

TEST_F(TargetDirTest, PlanRefusesATablespaceLocationThatHoldsSomething) {
  const std::string location = tmp_.path() + "/ts";
  write(location + "/other-cluster-file", "x");
  link("16400", location);
  Error e = error_of([&] { TargetDir(options_, info_, entries_).plan(); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_EQ(std::string(e.what()), "refusing to restore tablespace 16400 into a non-empty directory: " + location);
  EXPECT_EQ(e.hint(), "map it elsewhere with --tablespace-map 16400=DIR");
  // With --delta only the location the target's own link names may be brought in line.
  options_.delta = true;
  Error delta = error_of([&] { TargetDir(options_, info_, entries_).plan(); });
  EXPECT_EQ(std::string(delta.what()), "refusing to restore tablespace 16400 into a non-empty directory: " + location +
                                           " (the target's pg_tblspc/16400 does not link there)");
  make_directories(tmp_.path() + "/data/pg_tblspc", 0700);
  ASSERT_EQ(symlink(location.c_str(), (tmp_.path() + "/data/pg_tblspc/16400").c_str()), 0);
  EXPECT_NO_THROW(TargetDir(options_, info_, entries_).plan());
}

TEST_F(TargetDirTest, PrepareCreatesAndLocksTheTargetAndRefusesOneThatHoldsSomething) {
  {
    TargetDir t(options_, info_, entries_);
    t.plan();
    t.prepare();
    EXPECT_TRUE(is_dir(t.path()));
    EXPECT_TRUE(exists(t.path() + "/" + std::string(TargetLock::kFileName)));
    t.finish();
    EXPECT_FALSE(exists(t.path() + "/" + std::string(TargetLock::kFileName)));
  }
  write(tmp_.path() + "/data/keep-me", "important");
  TargetDir t(options_, info_, entries_);
  Error e = error_of([&] { t.prepare(); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_EQ(std::string(e.what()), "refusing to restore into a non-empty directory: " + t.path());
  EXPECT_EQ(e.hint(), "restore into an empty directory, or pass --delta to bring this one in line");

  write(tmp_.path() + "/file", "not a directory");
  options_.target_dir = tmp_.path() + "/file";
  Error not_dir = error_of([&] { TargetDir(options_, info_, entries_).prepare(); });
  EXPECT_EQ(std::string(not_dir.what()), "restore target is not a directory: " + tmp_.path() + "/file");
}

TEST_F(TargetDirTest, DeltaTakesOnlyTheSnapshotsClusterAndUnmakesItsControlFileAtOnce) {
  options_.delta = true;
  data_dir(tmp_.path() + "/data", 7002);
  Error e = error_of([&] { TargetDir(options_, info_, entries_).prepare(); });
  EXPECT_EQ(std::string(e.what()), "refusing --delta into a directory that is not this cluster's: " + tmp_.path() +
                                       "/data (a data directory of another cluster: system identifier 7002, the "
                                       "snapshot's is 7001)");
  EXPECT_TRUE(exists(tmp_.path() + "/data/global/pg_control")) << "a refusal changes nothing";

  data_dir(tmp_.path() + "/data", 7001);
  TargetDir t(options_, info_, entries_);
  t.prepare();
  EXPECT_FALSE(exists(t.path() + "/" + std::string(kControlFile)));
  EXPECT_TRUE(exists(t.path() + "/PG_VERSION"));
}

TEST_F(TargetDirTest, DirectoriesAndTablespaceLinksAreMadeParentsFirst) {
  const std::string location = tmp_.path() + "/ts";
  const std::string version_dir = "pg_tblspc/16400/PG_15_202209061";
  // Children before their parents, as backup workers may list them.
  dir("base/5", 0755);
  dir("base");
  dir(version_dir + "/5/16384");
  dir(version_dir + "/5");
  dir(version_dir);
  dir("pg_tblspc");
  link("16400", "/old/location");
  options_.tablespace_map = {{"16400", location}};
  TargetDir t(options_, info_, entries_);
  t.plan();
  t.prepare();
  t.make_directories();
  t.make_tablespace_links();
  struct stat st;
  ASSERT_EQ(stat((t.path() + "/base/5").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u) << "modes are masked with 0750";
  EXPECT_TRUE(is_dir(location + "/PG_15_202209061/5/16384"));
  char target[PATH_MAX];
  ssize_t n = readlink((t.path() + "/pg_tblspc/16400").c_str(), target, sizeof target);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(target, static_cast<std::size_t>(n)), location);
  EXPECT_NO_THROW(t.sync_directories());
}

TEST_F(TargetDirTest, WithDeltaAFileInTheWayOfADirectoryIsReplaced) {
  dir("base");
  data_dir(tmp_.path() + "/data", 7001);
  write(tmp_.path() + "/data/base", "a file");
  options_.delta = true;
  TargetDir t(options_, info_, entries_);
  t.plan();
  t.prepare();
  t.make_directories();
  EXPECT_TRUE(is_dir(t.path() + "/base"));
}

TEST_F(TargetDirTest, DeltaRemovesOnlyWhatTheSnapshotLacks) {
  const std::string location = tmp_.path() + "/ts";
  const std::string version_dir = "pg_tblspc/16400/PG_15_202209061";
  dir("base");
  dir("base/1");
  file("base/1/1259");
  file("PG_VERSION");
  dir("pg_tblspc");
  link("16400", location);
  dir(version_dir);
  file(version_dir + "/16385");
  const std::string data = tmp_.path() + "/data";
  data_dir(data, 7001);
  write(data + "/base/1/1259", "kept");
  write(data + "/base/1/99999", "extra");
  write(data + "/base/7/1", "extra directory");
  write(location + "/PG_15_202209061/16385", "kept");
  write(location + "/PG_15_202209061/16386", "extra");
  write(location + "/PG_16_202307071/1", "another version's: not ours");
  make_directories(data + "/pg_tblspc", 0700);
  ASSERT_EQ(symlink(location.c_str(), (data + "/pg_tblspc/16400").c_str()), 0);

  options_.delta = true;
  TargetDir t(options_, info_, entries_);
  t.plan();
  t.prepare();
  t.make_directories();
  t.make_tablespace_links();
  // global (pg_control went in prepare), base/1/99999, base/7, the tablespace's 16386.
  EXPECT_EQ(t.remove_extras(), 4u);
  EXPECT_TRUE(exists(data + "/base/1/1259"));
  EXPECT_TRUE(exists(data + "/PG_VERSION"));
  EXPECT_FALSE(exists(data + "/base/1/99999"));
  EXPECT_FALSE(exists(data + "/base/7"));
  EXPECT_FALSE(exists(data + "/global"));
  EXPECT_TRUE(exists(data + "/" + std::string(TargetLock::kFileName)));
  EXPECT_TRUE(exists(location + "/PG_15_202209061/16385"));
  EXPECT_FALSE(exists(location + "/PG_15_202209061/16386"));
  EXPECT_TRUE(exists(location + "/PG_16_202307071/1"));
}

}  // namespace
}  // namespace pgdr::restore
