#include "config/objectives_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<ObjectivesConfig>& objectives_section() {
  static const auto section = ConfigSection<ObjectivesConfig>("objectives")
      .duration("rto", &ObjectivesConfig::rto)
      .duration("rpo", &ObjectivesConfig::rpo);
  return section;
}

}  // namespace pgdr
