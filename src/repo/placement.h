// Where a local repository may live: never inside the data directory or a tablespace of the
// cluster it protects. There every backup would copy the repository into itself (each snapshot
// holding the last, while its packs change under the reader), and the disk that loses the cluster
// would lose its backups with it. Checked by `pgdr init` and `pgdr backup`.
#pragma once

#include <vector>

#include "pg/cluster_config.h"
#include "storage/repo_config.h"

namespace pgdr::repo {

// Throws Error(config) naming the first local repository of repos that lies inside cluster.pgdata
// or inside a location its pg_tblspc links point to, with both paths. Paths are compared resolved
// (core/path.h). Nothing to check when pgdata is not set.
void refuse_repository_in_cluster(const ClusterConfig& cluster, const std::vector<RepoConfig>& repos);

}  // namespace pgdr::repo
