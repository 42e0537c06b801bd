// The [objectives] section: the recovery time and point objectives that drill, measure, check and
// the daemon all judge against. No family owns it, so it lives with the aggregate (config/config.h).
#pragma once

#include <chrono>

namespace pgdr {

template <class S>
class ConfigSection;

struct ObjectivesConfig {
  std::chrono::milliseconds rto{std::chrono::hours(4)};
  std::chrono::milliseconds rpo{std::chrono::hours(1)};
};

const ConfigSection<ObjectivesConfig>& objectives_section();

}  // namespace pgdr
