// The [log] section: where every command's log lines go besides stderr, and how many (core/log.h).
#pragma once

#include <string>

#include "core/log_level.h"

namespace pgdr {

template <class S>
class ConfigSection;

struct LogConfig {
  LogLevel level = LogLevel::info;  // -q and -v win over it
  std::string file;                 // appended, created 0600 (absolute); empty: none
  std::string syslog_facility;      // "user", "daemon", "local0".."local7"; empty: no syslog
};

const ConfigSection<LogConfig>& log_section();

}  // namespace pgdr
