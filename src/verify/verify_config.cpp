#include "verify/verify_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<VerifyConfig>& verify_section() {
  using V = VerifyConfig;
  static const auto section = ConfigSection<V>("verify")
      .duration("snapshot_interval", &V::snapshot_interval)
      .duration("window", &V::window)
      .check([](const V& v, const ConfigTable& t) {
        if (v.snapshot_interval < std::chrono::seconds(1)) t.fail("[verify] snapshot_interval must be at least 1s");
        if (v.window < v.snapshot_interval) t.fail("[verify] window must be at least snapshot_interval");
      })
      .number("coverage_warn", &V::coverage_warn, 0, 100)
      .number("coverage_fail", &V::coverage_fail, 0, 100)
      .check([](const V& v, const ConfigTable& t) {
        if (v.coverage_fail > v.coverage_warn) t.fail("[verify] coverage_fail must not exceed coverage_warn");
      })
      .duration("reverify_after", &V::reverify_after)
      .number("anomaly_threshold", &V::anomaly_threshold, 1, 1000)
      .integer("anomaly_history", &V::anomaly_history, 3, 1000)
      .integer("process_max", &V::process_max, 1, 64);
  return section;
}

}  // namespace pgdr
