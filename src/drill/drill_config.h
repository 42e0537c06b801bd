// The [drill] section: how `pgdr drill` builds its throwaway DR cluster and what it checks there.
#pragma once

#include <chrono>
#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct DrillConfig {
  std::string dr_path;    // directory under which each drill makes its own (absolute); empty: $TMPDIR or /tmp
  std::string app_check;  // shell command run with PGHOST/PGPORT/PGDATABASE of the DR cluster until it succeeds
  std::chrono::milliseconds app_check_timeout{std::chrono::minutes(5)};
  bool heartbeat = false;  // may the drill write a heartbeat row on the source (schema pgdr)
  std::string database;    // database the integrity phase compares; empty: every database
  std::string server_user;  // who runs the DR server when pgdr runs as root; empty: postgres
};

const ConfigSection<DrillConfig>& drill_section();

}  // namespace pgdr
