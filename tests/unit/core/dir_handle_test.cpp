#include "core/dir_handle.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>

#include "../storage/temp_dir.h"
#include "core/error.h"
#include "core/file.h"

namespace pgdr {
namespace {

using pgdr::test::TempDir;

std::set<std::string> names(DirHandle& d) {
  std::set<std::string> out;
  while (const dirent* e = d.next()) out.insert(e->d_name);
  return out;
}

TEST(DirHandleTest, ListsEveryEntryButDotAndDotDot) {
  TempDir t;
  write_file_durably(t.path() + "/a", as_bytes("x"), 0600);
  make_directories(t.path() + "/b", 0700);
  auto d = DirHandle::open(t.path());
  ASSERT_TRUE(d);
  EXPECT_EQ(names(*d), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(d->next(), nullptr) << "the end stays the end";
  EXPECT_EQ(d->path(), t.path());
}

TEST(DirHandleTest, OpenIsNulloptForWhatIsNoReadableDirectory) {
  TempDir t;
  EXPECT_FALSE(DirHandle::open(t.path() + "/missing"));
  write_file_durably(t.path() + "/file", as_bytes("x"), 0600);
  EXPECT_FALSE(DirHandle::open(t.path() + "/file"));
}

TEST(DirHandleTest, AdoptedDescriptorServesTheAtCallsAndIsClosedWithTheHandle) {
  TempDir t;
  write_file_durably(t.path() + "/a", as_bytes("x"), 0600);
  int fd = ::open(t.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    DirHandle d = DirHandle::adopt(fd, t.path());
    EXPECT_EQ(names(d), (std::set<std::string>{"a"}));
    EXPECT_EQ(::faccessat(d.fd(), "a", F_OK, 0), 0);
    DirHandle moved = std::move(d);
    EXPECT_GE(moved.fd(), 0);
  }
  errno = 0;
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(DirHandleTest, AdoptingWhatIsNoDirectoryThrowsAndClosesTheDescriptor) {
  TempDir t;
  write_file_durably(t.path() + "/file", as_bytes("x"), 0600);
  int fd = ::open((t.path() + "/file").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  try {
    DirHandle::adopt(fd, t.path() + "/file");
    FAIL() << "adopted a file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unable to read directory"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(t.path() + "/file"), std::string::npos) << e.what();
  }
  errno = 0;
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace pgdr
