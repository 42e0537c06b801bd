// The [verify] section: what `pgdr verify` expects and how hard it looks (docs/commands/verify.md).
#pragma once

#include <chrono>

namespace pgdr {

template <class S>
class ConfigSection;

struct VerifyConfig {
  std::chrono::milliseconds snapshot_interval{std::chrono::hours(1)};  // one snapshot expected per interval
  std::chrono::milliseconds window{std::chrono::hours(24)};            // how far back coverage and sizes look
  double coverage_warn = 95;    // percent below which coverage is WARN
  double coverage_fail = 80;    // percent below which coverage is FAIL
  std::chrono::milliseconds reverify_after{std::chrono::hours(24 * 30)};  // re-read objects verified longer ago
  double anomaly_threshold = 5;  // robust z-score (deviation from the median in MADs) that flags a size
  int anomaly_history = 10;      // predecessors that form the size baseline
  int process_max = 2;           // parallel object readers
};

const ConfigSection<VerifyConfig>& verify_section();

}  // namespace pgdr
