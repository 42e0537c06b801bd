// The retention policy: which snapshots `pgdr expire` keeps. Pure (no storage, no clock), so it is
// tested on fabricated times.
//
// Grandfather-father-son, per cluster (system identifier): snapshots are bucketed by UTC hour,
// day, ISO week (Monday to Sunday), month and year. For each class with a count N, the newest
// snapshot of each of the N newest buckets that hold a snapshot is kept (buckets without a
// snapshot do not count, so a paused schedule does not age everything out). Also kept: every
// snapshot younger than min_age (or dated in the future), and the cluster's newest snapshot.
// A snapshot may be kept by several rules; all are reported.
//
// The policy is the [retention] section of the configuration as it is read (retention_section()),
// with what expire needs besides the choice: how long it waits for the lock, and when it repacks.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/time_format.h"

namespace pgdr {
template <class S>
class ConfigSection;
}  // namespace pgdr

namespace pgdr::repo {

struct RetentionPolicy {
  int hourly = 24;
  int daily = 7;
  int weekly = 4;
  int monthly = 12;
  int yearly = 0;
  std::chrono::milliseconds min_age{std::chrono::hours(1)};
  // Not used by apply_retention. How long expire waits for a running backup, and a backup for a
  // running expire.
  std::chrono::milliseconds lock_wait{std::chrono::minutes(10)};
  // A pack that kept snapshots still need is repacked when at least this percentage of its bytes
  // is garbage; 0 turns repacking off.
  double repack_threshold = 50;
  // How long a repacked pack stays for readers that started before the repack.
  std::chrono::milliseconds repack_grace{std::chrono::hours(24)};
  // Packs one expire repacks at most (the most garbage first); the rest wait for the next.
  int repack_max_packs = 64;
};

// [retention]
const ConfigSection<RetentionPolicy>& retention_section();

struct RetentionInput {
  std::string id;
  std::string cluster;  // system identifier: classes count per cluster
  SystemTime time;      // when the backup started
};

struct RetentionVerdict {
  std::string id;
  bool keep = false;
  std::vector<std::string> reasons;  // e.g. "newest", "younger than 1h", "daily 3 of 7"
};

// One verdict per snapshot, in the order given.
std::vector<RetentionVerdict> apply_retention(const std::vector<RetentionInput>& snapshots,
                                              const RetentionPolicy& policy, SystemTime now);

}  // namespace pgdr::repo
