#include "archive/archive_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<ArchiveConfig>& archive_section() {
  using A = ArchiveConfig;
  static const auto section =
      ConfigSection<A>("archive").text("agent_socket", &A::agent_socket, ConfigText::absolute_or_empty());
  return section;
}

}  // namespace pgdr
