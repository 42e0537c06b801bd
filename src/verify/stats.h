// The arithmetic behind two verify checks, free of I/O so that it can be tested on its own:
// schedule coverage (which expected snapshot slots hold a snapshot) and robust size baselines
// (median and median absolute deviation, which one earlier outlier cannot drag along as a mean
// and standard deviation would).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time_format.h"

namespace pgdr::verify {

// Median of values (the mean of the middle two for an even count); 0 for none.
double median(std::vector<double> values);
// Median absolute deviation from the median.
double median_absolute_deviation(const std::vector<double>& values);

struct SizeVerdict {
  double median = 0;
  double mad = 0;
  double scale = 0;  // what one unit of z stands for, in bytes
  double z = 0;      // (value - median) / scale
  bool anomaly = false;
};
// Compares value with baseline: scale is 1.4826 MAD (the standard deviation of normally
// distributed data), but at least 10 % of the median and 1 MiB, so that a baseline of identical
// sizes (MAD 0) does not flag every small change. anomaly when |z| >= threshold.
SizeVerdict judge_size(double value, const std::vector<double>& baseline, double threshold);

struct Slot {
  SystemTime start{};
  SystemTime end{};
  bool covered = false;
};
struct Coverage {
  std::vector<Slot> slots;  // expected slots, oldest first
  std::size_t covered = 0;
  double percent = 100;     // 100 when no slot is expected yet
};
// Slots are [k * interval, (k + 1) * interval) since the epoch (hourly slots start on the hour).
// A slot is expected when it has ended by now, starts no earlier than now - window, and starts no
// earlier than not_before (the repository's creation: nothing is expected before it existed).
// A slot is covered when a snapshot started within it.
Coverage compute_coverage(const std::vector<SystemTime>& snapshot_starts, SystemTime now,
                          std::chrono::milliseconds interval, std::chrono::milliseconds window,
                          std::optional<SystemTime> not_before);

}  // namespace pgdr::verify
