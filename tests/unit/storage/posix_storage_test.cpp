#include "storage/posix/posix_storage.h"

#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "storage_conformance.h"
#include "temp_dir.h"

namespace pgdr::storage {
namespace {

using pgdr::test::TempDir;

struct PosixEnv {
  Storage& storage() { return posix; }
  TempDir dir;
  PosixStorage posix{dir.path()};
};

}  // namespace
}  // namespace pgdr::storage

INSTANTIATE_TYPED_TEST_SUITE_P(Posix, StorageConformance, pgdr::storage::PosixEnv);

namespace pgdr::storage {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) throw_errno("stat", path, errno);
  return st.st_mode & 07777;
}

// Every name below dir, recursively, as the file system holds them (temporary files included).
std::vector<std::string> names_on_disk(const std::string& dir, const std::string& prefix = "") {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    out.push_back(prefix + name);
    if (e->d_type == DT_DIR) {
      for (auto& n : names_on_disk(dir + "/" + name, prefix + name + "/")) out.push_back(n);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

class PosixStorageTest : public ::testing::Test {
 protected:
  TempDir dir_;
  PosixStorage storage_{dir_.path()};
};

TEST_F(PosixStorageTest, DescribesItsRoot) {
  EXPECT_EQ(storage_.describe(), "local directory " + dir_.path());
  EXPECT_EQ(PosixStorage(dir_.path() + "//").root(), dir_.path());
  EXPECT_EQ(PosixStorage("/").root(), "/");
  EXPECT_TRUE(storage_.capabilities().local);
  EXPECT_TRUE(storage_.capabilities().atomic_exclusive_create);
  EXPECT_THROW(PosixStorage(""), Error);
}

TEST_F(PosixStorageTest, FilesAre0600AndDirectories0700) {
  const mode_t old_umask = ::umask(0);  // show the modes are chosen, not left to a lax umask
  storage_.write_all("a/b/c", as_bytes("x"));
  storage_.create_exclusive("a/lock", as_bytes("y"));
  ::umask(old_umask);
  EXPECT_EQ(mode_of(dir_.path() + "/a"), 0700u);
  EXPECT_EQ(mode_of(dir_.path() + "/a/b"), 0700u);
  EXPECT_EQ(mode_of(dir_.path() + "/a/b/c"), 0600u);
  EXPECT_EQ(mode_of(dir_.path() + "/a/lock"), 0600u);
}

TEST_F(PosixStorageTest, ObjectsAreFilesBelowTheRoot) {
  storage_.write_all("packs/3f/3fa2", as_bytes("pack"));
  EXPECT_EQ(read_file(dir_.path() + "/packs/3f/3fa2"), to_bytes("pack"));
  EXPECT_EQ(names_on_disk(dir_.path()), (std::vector<std::string>{"packs", "packs/3f", "packs/3f/3fa2"}));
}

TEST_F(PosixStorageTest, TemporaryFilesAreRemovedAndNeverListed) {
  {
    auto w = storage_.create("d/obj");
    w->write(as_bytes("partial"));
    auto on_disk = names_on_disk(dir_.path());
    ASSERT_EQ(on_disk.size(), 2u);
    EXPECT_EQ(on_disk[1].rfind("d/obj.tmp-", 0), 0u) << on_disk[1];
  }
  EXPECT_EQ(names_on_disk(dir_.path()), std::vector<std::string>{"d"});

  EXPECT_TRUE(storage_.create_exclusive("d/lock", as_bytes("1")));
  EXPECT_FALSE(storage_.create_exclusive("d/lock", as_bytes("2")));
  EXPECT_EQ(names_on_disk(dir_.path()), (std::vector<std::string>{"d", "d/lock"}));

  // Left behind by a crash: still invisible.
  write_file_durably(dir_.path() + "/d/obj.tmp-0123456789abcdef", as_bytes("stale"), 0600);
  EXPECT_EQ(storage_.list("").size(), 1u);
  EXPECT_EQ(storage_.list("d").size(), 1u);
}

TEST_F(PosixStorageTest, RefusesTemporaryNames) {
  try {
    storage_.create("x.tmp-1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_STREQ(e.what(), "refusing object name 'x.tmp-1' (.tmp- marks temporary files)");
  }
}

TEST_F(PosixStorageTest, TruncatedFileIsReportedWithItsPath) {
  storage_.write_all("packs/p", Bytes(100, 1));
  ASSERT_EQ(::truncate((dir_.path() + "/packs/p").c_str(), 60), 0);
  try {
    storage_.read_range("packs/p", 50, 20);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()),
              "object truncated: local directory " + dir_.path() + "/packs/p ends at 60 bytes, wanted 70");
  }
  EXPECT_EQ(storage_.read_range("packs/p", 50, 10), Bytes(10, 1));
}

TEST_F(PosixStorageTest, MissingRootIsNeverCreated) {
  PosixStorage missing(dir_.path() + "/gone");
  EXPECT_FALSE(missing.read("x").has_value());
  EXPECT_TRUE(missing.list("").empty());
  for (const char* path : {"x", "a/b"}) {
    try {
      missing.write_all(path, as_bytes("x"));
      FAIL() << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::not_found);
      EXPECT_NE(std::string(e.what()).find(dir_.path() + "/gone"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(names_on_disk(dir_.path()), std::vector<std::string>{});

  PosixStorage::create_root(dir_.path() + "/gone/deeper");
  EXPECT_EQ(mode_of(dir_.path() + "/gone/deeper") & 0077, 0u);
  PosixStorage::create_root(dir_.path() + "/gone/deeper");  // existing is fine
  PosixStorage(dir_.path() + "/gone/deeper").write_all("a/b", as_bytes("x"));
}

TEST_F(PosixStorageTest, ErrorsNameTheFullPath) {
  storage_.write_all("f", as_bytes("file"));
  try {
    storage_.write_all("f/below", as_bytes("x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(std::string(e.what()), "unable to create directory: " + dir_.path() + "/f (Not a directory)");
  }
}

TEST_F(PosixStorageTest, WriterMisuseIsAnInternalError) {
  auto w = storage_.create("o");
  w->write(as_bytes("x"));
  w->commit();
  EXPECT_THROW(w->write(as_bytes("y")), Error);
  EXPECT_THROW(w->commit(), Error);
  EXPECT_EQ(storage_.read("o"), to_bytes("x"));
}

TEST_F(PosixStorageTest, SymbolicLinksAreNotListed) {
  storage_.write_all("d/real", as_bytes("x"));
  ASSERT_EQ(::symlink("/etc", (dir_.path() + "/d/link").c_str()), 0);
  EXPECT_EQ(storage_.list("").size(), 1u);
}

}  // namespace
}  // namespace pgdr::storage
