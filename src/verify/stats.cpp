#include "verify/stats.h"

#include <algorithm>
#include <cmath>

namespace pgdr::verify {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double median_absolute_deviation(const std::vector<double>& values) {
  double m = median(values);
  std::vector<double> dev;
  dev.reserve(values.size());
  for (double v : values) dev.push_back(std::fabs(v - m));
  return median(dev);
}

SizeVerdict judge_size(double value, const std::vector<double>& baseline, double threshold) {
  // 1.4826 makes the MAD a consistent estimator of the standard deviation for normal data.
  constexpr double kMadToSigma = 1.4826;
  constexpr double kMinScaleFraction = 0.10;
  constexpr double kMinScaleBytes = 1024.0 * 1024.0;
  SizeVerdict v;
  v.median = median(baseline);
  v.mad = median_absolute_deviation(baseline);
  v.scale = std::max({kMadToSigma * v.mad, kMinScaleFraction * v.median, kMinScaleBytes});
  v.z = (value - v.median) / v.scale;
  v.anomaly = std::fabs(v.z) >= threshold;
  return v;
}

Coverage compute_coverage(const std::vector<SystemTime>& snapshot_starts, SystemTime now,
                          std::chrono::milliseconds interval, std::chrono::milliseconds window,
                          std::optional<SystemTime> not_before) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  Coverage c;
  auto now_ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  auto iv = interval.count();
  auto earliest = now_ms - window.count();
  if (not_before) earliest = std::max<long long>(earliest, duration_cast<milliseconds>(not_before->time_since_epoch()).count());
  // First slot starting at or after earliest; last slot ending at or before now.
  long long first = earliest >= 0 ? (earliest + iv - 1) / iv : earliest / iv;
  long long last = now_ms / iv - 1;
  std::vector<long long> starts;
  for (auto t : snapshot_starts) starts.push_back(duration_cast<milliseconds>(t.time_since_epoch()).count());
  std::sort(starts.begin(), starts.end());
  for (long long k = first; k <= last; ++k) {
    Slot s;
    s.start = SystemTime(milliseconds(k * iv));
    s.end = SystemTime(milliseconds((k + 1) * iv));
    auto it = std::lower_bound(starts.begin(), starts.end(), k * iv);
    s.covered = it != starts.end() && *it < (k + 1) * iv;
    c.covered += s.covered;
    c.slots.push_back(s);
  }
  if (!c.slots.empty()) c.percent = 100.0 * static_cast<double>(c.covered) / static_cast<double>(c.slots.size());
  return c;
}

}  // namespace pgdr::verify
