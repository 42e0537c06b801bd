#include "core/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>

#include "../storage/temp_dir.h"
#include "core/error.h"

namespace pgdr {
namespace {

using pgdr::test::TempDir;

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

mode_t mode_of(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) throw_errno("stat", path, errno);
  return st.st_mode & 07777;
}

std::size_t entries_in(const std::string& dir) {
  std::size_t n = 0;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (const dirent* e = ::readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  ::closedir(d);
  return n;
}

class FileTest : public ::testing::Test {
 protected:
  std::string at(const std::string& name) const { return dir_.path() + "/" + name; }
  TempDir dir_;
};

TEST_F(FileTest, WriteReadTruncateAndSize) {
  File f = File::open(at("f"), O_RDWR | O_CREAT | O_EXCL);
  EXPECT_TRUE(f.is_open());
  EXPECT_EQ(f.path(), at("f"));
  f.write_all(as_bytes("hello world"));
  f.pwrite_all(as_bytes("W"), 6);
  f.sync();
  EXPECT_EQ(f.size(), 11u);

  char buf[32];
  EXPECT_EQ(f.read_at(buf, 5, 6), 5u);
  EXPECT_EQ(std::string(buf, 5), "World");
  EXPECT_EQ(f.read_at(buf, sizeof buf, 6), 5u);  // short at end of file
  EXPECT_EQ(f.read_at(buf, sizeof buf, 100), 0u);
  EXPECT_EQ(f.read_all(), to_bytes("hello World"));

  f.truncate(5);
  EXPECT_EQ(f.size(), 5u);
  f.close();
  EXPECT_FALSE(f.is_open());
  f.close();  // closing twice is harmless
  EXPECT_EQ(read_file(at("f")), to_bytes("hello"));
}

TEST_F(FileTest, OpenFailureNamesThePath) {
  try {
    File::open(at("missing"), O_RDONLY);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_EQ(std::string(e.what()), "unable to open file: " + at("missing") + " (No such file or directory)");
  }
  EXPECT_THROW(File::open(dir_.path(), O_WRONLY), Error);  // a directory
}

TEST_F(FileTest, CreatesWithTheGivenMode) {
  const mode_t old_umask = ::umask(0);
  File::open(at("m"), O_WRONLY | O_CREAT, 0640).close();
  File::open(at("d"), O_WRONLY | O_CREAT).close();
  ::umask(old_umask);
  EXPECT_EQ(mode_of(at("m")), 0640u);
  EXPECT_EQ(mode_of(at("d")), 0600u);
}

TEST_F(FileTest, OpenIfExists) {
  EXPECT_FALSE(File::open_if_exists(at("missing"), O_RDONLY).has_value());
  write_file_durably(at("plain"), as_bytes("x"), 0600);
  EXPECT_FALSE(File::open_if_exists(at("plain/below"), O_RDONLY).has_value());
  auto f = File::open_if_exists(at("plain"), O_RDONLY);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->read_all(), to_bytes("x"));
}

TEST_F(FileTest, MovesOwnership) {
  File a = File::open(at("f"), O_WRONLY | O_CREAT);
  const int fd = a.fd();
  File b = std::move(a);
  EXPECT_EQ(b.fd(), fd);
  EXPECT_EQ(a.fd(), -1);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  File c;
  c = std::move(b);
  EXPECT_EQ(c.fd(), fd);
  EXPECT_EQ(b.fd(), -1);  // NOLINT(bugprone-use-after-move)
  c.write_all(as_bytes("ok"));
}

TEST_F(FileTest, ReadAllOfALargeFile) {
  Bytes data(3 * 1024 * 1024 + 17);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
  write_file_durably(at("big"), data, 0600);
  EXPECT_EQ(read_file(at("big")), data);
}

TEST_F(FileTest, MakeDirectories) {
  const mode_t old_umask = ::umask(0);
  make_directories(at("a/b/c"), 0700);
  ::umask(old_umask);
  EXPECT_EQ(mode_of(at("a")), 0700u);
  EXPECT_EQ(mode_of(at("a/b/c")), 0700u);
  make_directories(at("a/b/c"), 0700);
  make_directories(at("a//b/d/"), 0755);
  EXPECT_TRUE(exists(at("a/b/d")));

  write_file_durably(at("a/file"), as_bytes("x"), 0600);
  try {
    make_directories(at("a/file/sub"), 0700);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(std::string(e.what()), "unable to create directory: " + at("a/file") + " (Not a directory)");
  }
  EXPECT_THROW(make_directories(at("a/file"), 0700), Error);
}

TEST_F(FileTest, MakeDirectoriesRelative) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir_.path().c_str()), 0);
  make_directories("rel/x", 0700);
  ASSERT_EQ(::chdir(cwd), 0);
  EXPECT_TRUE(exists(at("rel/x")));
}

TEST_F(FileTest, WriteFileDurablyReplacesAtomically) {
  write_file_durably(at("conf"), as_bytes("one"), 0600);
  write_file_durably(at("conf"), as_bytes("two"), 0600);
  EXPECT_EQ(read_file(at("conf")), to_bytes("two"));
  EXPECT_EQ(entries_in(dir_.path()), 1u);  // no temporary file left

  try {
    write_file_durably(at("no/such/dir/conf"), as_bytes("x"), 0600);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
  EXPECT_EQ(entries_in(dir_.path()), 1u);
}

TEST_F(FileTest, ReadFileOfMissingIsNullopt) {
  EXPECT_FALSE(read_file(at("missing")).has_value());
  write_file_durably(at("empty"), ByteView(), 0600);
  ASSERT_TRUE(read_file(at("empty")).has_value());
  EXPECT_TRUE(read_file(at("empty"))->empty());
}

TEST_F(FileTest, TemporaryPathsAreFreshSiblings) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = temporary_path("/x/name");
    ASSERT_EQ(t.size(), std::string("/x/name.tmp-").size() + 16) << t;
    EXPECT_EQ(t.rfind("/x/name.tmp-", 0), 0u) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST_F(FileTest, RemoveTree) {
  make_directories(at("t/a/b/c"), 0700);
  write_file_durably(at("t/a/f1"), as_bytes("1"), 0600);
  write_file_durably(at("t/a/b/c/f2"), as_bytes("2"), 0600);

  // Links are removed, never followed: what they point to survives.
  make_directories(at("outside/keep"), 0700);
  write_file_durably(at("outside/keep/precious"), as_bytes("p"), 0600);
  ASSERT_EQ(::symlink(at("outside").c_str(), at("t/a/link").c_str()), 0);
  ASSERT_EQ(::symlink(at("outside/keep/precious").c_str(), at("t/flink").c_str()), 0);

  remove_tree(at("t"));
  EXPECT_FALSE(exists(at("t")));
  EXPECT_EQ(read_file(at("outside/keep/precious")), to_bytes("p"));

  remove_tree(at("t"));  // missing is fine
  remove_tree(at("outside/keep/precious"));  // a single file
  EXPECT_FALSE(exists(at("outside/keep/precious")));

  ASSERT_EQ(::symlink(at("outside").c_str(), at("dirlink").c_str()), 0);
  remove_tree(at("dirlink"));
  EXPECT_FALSE(exists(at("dirlink")));
  EXPECT_TRUE(exists(at("outside/keep")));
}

TEST_F(FileTest, FsyncDirectory) {
  fsync_directory(dir_.path());
  EXPECT_THROW(fsync_directory(at("missing")), Error);
}

}  // namespace
}  // namespace pgdr
