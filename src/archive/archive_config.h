// The [archive] section: archive-push and archive-get through `pgdr archive-agent`, which holds
// the repositories' keys.
#pragma once

#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct ArchiveConfig {
  // The agent's Unix socket (absolute); empty: pgdr-archive-agent.<data directory name>.sock beside
  // [cluster] pgdata, or no agent when pgdata is not set either (see archive/agent_socket.h).
  std::string agent_socket;
};

const ConfigSection<ArchiveConfig>& archive_section();

}  // namespace pgdr
