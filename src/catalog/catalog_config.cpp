#include "catalog/catalog_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<CatalogConfig>& catalog_section() {
  static const auto section = ConfigSection<CatalogConfig>("catalog")
      .text("path", &CatalogConfig::path, ConfigText::absolute_or_empty());
  return section;
}

}  // namespace pgdr
