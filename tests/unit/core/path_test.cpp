// Placement checks compare paths: two spellings of one directory must compare equal.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "../storage/temp_dir.h"
#include "core/path.h"

namespace pgdr {
namespace {

TEST(Path, NormalFoldsDotsAndSlashes) {
  EXPECT_EQ(normal_path("/srv//pgdr/./repo/"), "/srv/pgdr/repo");
  EXPECT_EQ(normal_path("/srv/pgdr/../repo"), "/srv/repo");
  EXPECT_EQ(normal_path("/.."), "/");
  EXPECT_EQ(normal_path("/"), "/");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(normal_path("a/b"), normal_path(std::string(cwd) + "/a/b"));
}

TEST(Path, ResolvedFollowsLinksInTheExistingPart) {
  test::TempDir dir;
  const std::string real = dir.path() + "/real";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(symlink(real.c_str(), (dir.path() + "/link").c_str()), 0);
  std::string base = resolved_path(dir.path());
  EXPECT_EQ(resolved_path(dir.path() + "/link"), base + "/real");
  EXPECT_EQ(resolved_path(dir.path() + "/link/not/yet/../there/"), base + "/real/not/there");
  EXPECT_EQ(resolved_path(dir.path() + "/real/./"), resolved_path(dir.path() + "/link"));
  ASSERT_EQ(symlink("real/later", (dir.path() + "/dangling").c_str()), 0);
  EXPECT_EQ(resolved_path(dir.path() + "/dangling/x"), base + "/real/later/x");
}

TEST(Path, Within) {
  EXPECT_TRUE(path_within("/srv/pg", "/srv/pg"));
  EXPECT_TRUE(path_within("/srv/pg/base", "/srv/pg"));
  EXPECT_FALSE(path_within("/srv/pg2", "/srv/pg"));
  EXPECT_FALSE(path_within("/srv", "/srv/pg"));
  EXPECT_TRUE(path_within("/anything", "/"));
}

}  // namespace
}  // namespace pgdr
