#include "repo/placement.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>

#include <map>
#include <memory>

#include "core/error.h"
#include "core/path.h"

namespace pgdr::repo {

namespace {

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

// oid -> resolved location, for the tablespaces the data directory links to; none when it cannot
// be read (then the server's own user runs pgdr elsewhere, and the backup fails on reading anyway).
std::map<std::string, std::string> tablespaces_of(const std::string& pgdata) {
  std::map<std::string, std::string> out;
  const std::string dir = pgdata + "/pg_tblspc";
  std::unique_ptr<DIR, DirCloser> d(opendir(dir.c_str()));
  if (!d) return out;
  while (struct dirent* de = readdir(d.get())) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    char buf[PATH_MAX];
    if (realpath((dir + "/" + name).c_str(), buf)) out[name] = buf;
  }
  return out;
}

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
  const auto tablespaces = tablespaces_of(pgdata);
  for (const auto& r : repos) {
    if (r.is_s3() || r.path.empty()) continue;
    const std::string path = resolved_path(r.path);
    if (path_within(path, pgdata)) refuse(r, "inside [cluster] pgdata " + cluster.pgdata);
    for (const auto& [oid, location] : tablespaces)
      if (path_within(path, location)) refuse(r, "inside tablespace " + oid + " at " + location);
  }
}

}  // namespace pgdr::repo
