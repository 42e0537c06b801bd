// A local repository inside the data directory or a tablespace of its cluster is refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include "../storage/temp_dir.h"
#include "core/error.h"
#include "core/file.h"
#include "core/path.h"
#include "repo/placement.h"

namespace pgdr::repo {
namespace {

std::string refusal(const ClusterConfig& cluster, const std::string& repo_path) {
  RepoConfig r;
  r.name = "local";
  r.path = repo_path;
  try {
    refuse_repository_in_cluster(cluster, {r});
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_FALSE(e.hint().empty());
    return e.what();
  }
  return "<accepted>";
}

TEST(RepoPlacement, InsideTheDataDirectoryOrATablespaceIsRefused) {
  test::TempDir dir;
  const std::string base = resolved_path(dir.path());
  make_directories(base + "/pg/pg_tblspc", 0700);
  make_directories(base + "/ts", 0700);
  ASSERT_EQ(symlink((base + "/ts").c_str(), (base + "/pg/pg_tblspc/16400").c_str()), 0);
  ClusterConfig cluster;
  cluster.pgdata = base + "/pg";
  EXPECT_EQ(refusal(cluster, base + "/pg/repo"),
            "refusing repository 'local' inside the cluster's files: " + base + "/pg/repo (inside [cluster] pgdata " +
                base + "/pg, so every backup would copy the repository into itself)");
  EXPECT_EQ(refusal(cluster, base + "/ts/x/repo"),
            "refusing repository 'local' inside the cluster's files: " + base + "/ts/x/repo (inside tablespace 16400 at " +
                base + "/ts, so every backup would copy the repository into itself)");
  EXPECT_EQ(refusal(cluster, base + "/pg-repo"), "<accepted>");
  EXPECT_EQ(refusal(cluster, base), "<accepted>") << "a repository holding the data directory is not copied into it";
  cluster.pgdata.clear();
  EXPECT_EQ(refusal(cluster, base + "/pg/repo"), "<accepted>");
}

}  // namespace
}  // namespace pgdr::repo
