#include "repo/placement.h"

#include <map>
#include <memory>

#include "core/error.h"
#include "core/path.h"
#include "pg/data_directory.h"

namespace pgdr::repo {

namespace {


[[noreturn]] void refuse(const RepoConfig& r, const std::string& why) {
  throw Error(ErrorKind::config,
              "refusing repository '" + r.name + "' inside the cluster's files: " + r.path + " (" + why +
                  ", so every backup would copy the repository into itself)",
              "give [[repo]] '" + r.name + "' a path outside the data directory and every tablespace of the cluster");
}

}  // namespace

void refuse_repository_in_cluster(const ClusterConfig& cluster, const std::vector<RepoConfig>& repos) {
  if (cluster.pgdata.empty()) return;
  const std::string pgdata = resolved_path(cluster.pgdata);
  // An unreadable pg_tblspc gives none: the server's own user then runs pgdr elsewhere, and the
  // backup fails on reading anyway.
  const auto tablespaces = pg::tablespace_links(pgdata);
  for (const auto& r : repos) {
    if (r.is_s3() || r.path.empty()) continue;
    const std::string path = resolved_path(r.path);
    if (path_within(path, pgdata)) refuse(r, "inside [cluster] pgdata " + cluster.pgdata);
    for (const auto& [oid, location] : tablespaces)
      if (path_within(path, location)) refuse(r, "inside tablespace " + oid + " at " + location);
  }
}

}  // namespace pgdr::repo
