// The individual checks of `pgdr verify`, each returning a CheckResult and never throwing for
// what it finds (damage, gaps and anomalies are findings; only a failure to run at all throws).
// verify.h runs them in order.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "repo/audit_log.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"
#include "repo/wal_file_check.h"
#include "verify/report.h"
#include "verify/verify_config.h"

namespace pgdr::verify {

// 1. Presence and coverage of the snapshots the schedule expects.
CheckResult check_coverage(const std::vector<repo::SnapshotInfo>& snaps, const VerifyConfig& cfg, SystemTime now,
                           std::optional<SystemTime> repo_created);

// 2. Logical and stored size of each snapshot started within the window against the median and
// MAD of its predecessors of the same cluster.
CheckResult check_sizes(const std::vector<repo::SnapshotInfo>& snaps, const VerifyConfig& cfg, SystemTime now);

struct ObjectCheckOptions {
  bool full = false;                      // ignore what the catalog says was verified
  std::optional<double> sample_percent;   // check only a random share of the candidates
  std::chrono::milliseconds reverify_after{std::chrono::hours(24 * 30)};
  int process_max = 2;
  SystemTime now{};
  // What the repository knows of the cluster: a WAL object whose content is not a WAL file of it
  // (repo::wal_file_problem) is damaged like one that fails its digest.
  repo::KnownCluster known;
  // Objects the audit log records as replaced (archive-push --replace-invalid): whatever the
  // catalog says, their content was never proven by an earlier run, so they are always decoded.
  std::set<std::string> replaced;
};
// 3. Every stored object (packs, manifests, WAL objects) read, authenticated, decompressed and
// checked against its ids and digests; every file of every checked snapshot reassembled
// logically. damaged_infos: info objects list_snapshots could not read. catalog may be null.
// The names of damaged WAL objects are appended to damaged_wal.
CheckResult check_objects(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                          const std::vector<std::string>& damaged_infos, catalog::Catalog* catalog,
                          const ObjectCheckOptions& options, std::vector<std::string>& damaged_wal);

// 4. WAL continuity from the oldest snapshot's first segment to the newest archived segment, on
// every timeline of the newest timeline's history.
CheckResult check_wal(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                      const std::vector<std::string>& damaged_wal);

// 5. The audit log: its chain intact, and every snapshot it records as written and not expired
// present (a snapshot deleted by anything but pgdr expire). log was read before snaps were listed.
CheckResult check_audit(const repo::Repository& repo, const repo::AuditLog& log,
                        const std::vector<repo::SnapshotInfo>& snaps);

}  // namespace pgdr::verify
