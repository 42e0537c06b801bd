#include "pg/cluster_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<ClusterConfig>& cluster_section() {
  static const auto section = ConfigSection<ClusterConfig>("cluster")
      .text("name", &ClusterConfig::name, ConfigText::absent("main"))
      .text("pgdata", &ClusterConfig::pgdata, ConfigText::absolute_or_empty())
      .text("conninfo", &ClusterConfig::conninfo)
      .text("pg_bindir", &ClusterConfig::pg_bindir, ConfigText::absolute_or_empty());
  return section;
}

}  // namespace pgdr
