// The restore test of `pgdr verify --restore-test`: the newest snapshot and the archived WAL
// restored into a throwaway cluster on a free loopback port, started, checked (pg_amcheck, row
// counts, canary content), stopped and removed: also when a step fails or the user presses Ctrl-C.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "repo/snapshot_info.h"
#include "restore/archive_get_call.h"
#include "verify/report.h"

namespace pgdr::verify {

struct RestoreTestOptions {
  std::string parent_dir;                // where the throwaway directory is made; empty: $TMPDIR or /tmp
  std::string server_user;               // who runs the server when pgdr runs as root; empty: postgres
  std::string pg_bindir;                 // [cluster] pg_bindir (see pg/binaries.h)
  int process_max = 2;
  std::optional<restore::ArchiveGetCall> archive_get;  // for the archived WAL; none: the snapshot's own WAL only
  std::vector<std::string> server_env;   // "K=V" the server needs (the passphrase source for archive-get)
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};  // start, and recovery to the end of the archive
};

CheckResult run_restore_test(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                             const RestoreTestOptions& options);

}  // namespace pgdr::verify
