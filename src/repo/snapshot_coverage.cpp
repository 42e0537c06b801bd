#include "repo/snapshot_coverage.h"

#include <algorithm>
#include <chrono>
#include <set>

namespace pgdr::repo {

HourlyCoverage hourly_coverage(const std::vector<SnapshotInfo>& snapshots, SystemTime now,
                               std::optional<SystemTime> not_before) {
  constexpr int kSlots = 24;
  HourlyCoverage c;
  c.expected_hours = kSlots;
  if (not_before && *not_before <= now) {
    // The slot holding the creation instant is expected; those wholly before it are not.
    const auto age_hours = std::chrono::duration_cast<std::chrono::hours>(now - *not_before).count();
    c.expected_hours = static_cast<int>(std::min<long long>(kSlots, age_hours + 1));
  } else if (not_before) {
    c.expected_hours = 1;  // a clock set back since the creation: the current slot alone
  }
  std::set<long long> slots;
  for (const auto& s : snapshots) {
    auto t = parse_iso8601(s.stop_time);
    if (!t || *t > now) continue;
    const long long k = std::chrono::duration_cast<std::chrono::hours>(now - *t).count();
    if (k < c.expected_hours) slots.insert(k);
  }
  c.covered_hours = static_cast<int>(slots.size());
  return c;
}

std::optional<SystemTime> coverage_start(const std::string& created_iso8601, const std::vector<SnapshotInfo>& snapshots) {
  if (auto t = parse_iso8601(created_iso8601)) return t;
  std::optional<SystemTime> first;
  for (const auto& s : snapshots)
    if (auto t = parse_iso8601(s.start_time); t && (!first || *t < *first)) first = t;
  return first;
}

}  // namespace pgdr::repo
