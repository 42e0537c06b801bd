// The [catalog] section: where the local SQLite catalog lives (catalog/catalog.h).
#pragma once

#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct CatalogConfig {
  std::string path;  // the local SQLite catalog; empty: see catalog::catalog_path
};

const ConfigSection<CatalogConfig>& catalog_section();

}  // namespace pgdr
