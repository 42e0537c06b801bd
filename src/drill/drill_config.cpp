#include "drill/drill_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<DrillConfig>& drill_section() {
  using D = DrillConfig;
  static const auto section = ConfigSection<D>("drill")
      .text("dr_path", &D::dr_path, ConfigText::absolute_or_empty())
      .text("app_check", &D::app_check)
      .duration("app_check_timeout", &D::app_check_timeout)
      .flag("heartbeat", &D::heartbeat)
      .text("database", &D::database)
      .text("server_user", &D::server_user);
  return section;
}

}  // namespace pgdr
