// Hourly snapshot coverage of the last 24 h, one definition for `pgdr measure`, the daemon's
// metrics and the dashboard: how many of the one-hour slots back from now hold the stop time of at
// least one snapshot. Slots before the repository existed are not expected: a repository created
// an hour ago with a snapshot in it is fully covered, not 4 % covered. A plain function of values.
#pragma once

#include <optional>
#include <vector>

#include "core/time_format.h"
#include "repo/snapshot_info.h"

namespace pgdr::repo {

struct HourlyCoverage {
  int expected_hours = 0;  // slots of the last 24 h that began after the repository was created (1 to 24)
  int covered_hours = 0;   // of those, slots holding a snapshot's stop time
  double ratio() const { return expected_hours ? static_cast<double>(covered_hours) / expected_hours : 0; }
};

// Slot k (0 to 23) is [now - (k+1) h, now - k h). not_before: when the repository was created (its
// pgdr.repo), else the first snapshot's start; nullopt counts all 24 slots.
HourlyCoverage hourly_coverage(const std::vector<SnapshotInfo>& snapshots, SystemTime now,
                               std::optional<SystemTime> not_before);

// When coverage starts counting for a repository: its creation time when known, else the oldest
// snapshot's start time; nullopt when neither is known.
std::optional<SystemTime> coverage_start(const std::string& created_iso8601, const std::vector<SnapshotInfo>& snapshots);

}  // namespace pgdr::repo
