// pgdr verify: proves, with evidence, that a repository still holds restorable backups of the
// cluster. Runs the key check first (without the master key nothing else can be read), then
// coverage, size anomalies, checksums, WAL continuity and, on request, a restore test, and
// returns a Report. What a check finds never throws; only a failure to run at all does (no
// repository, unreadable configuration): the command maps that to exit code 3.
#pragma once

#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "config/config.h"
#include "verify/report.h"

namespace pgdr::verify {

struct VerifyOptions {
  bool full = false;                     // re-read objects the catalog says were verified
  std::optional<double> sample_percent;  // read only this share of the due objects
  bool restore_test = false;
  int process_max = 0;                   // 0: [verify] process_max
  std::string restore_parent_dir;        // where the throwaway cluster goes; empty: [drill] dr_path or $TMPDIR
};

// catalog may be null (then every object is due and nothing is remembered).
Report run_verify(const Config& config, const RepoConfig& repo, const VerifyOptions& options, catalog::Catalog* catalog);

}  // namespace pgdr::verify
