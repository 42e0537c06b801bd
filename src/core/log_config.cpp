#include "core/log_config.h"

#include "core/config_section.h"
#include "core/syslog_socket.h"

namespace pgdr {

const ConfigSection<LogConfig>& log_section() {
  static const auto section = ConfigSection<LogConfig>("log")
      .log_level("level", &LogConfig::level, "[log] level must be error, warn, info or debug")
      .text("file", &LogConfig::file, ConfigText::absolute())
      // true picks syslog(3)'s own default facility; a name picks another (PostgreSQL uses local0).
      .custom("syslog",
              [](LogConfig& log, const ConfigValue& v) {
                if (v.is_flag()) {
                  log.syslog_facility = v.flag() ? "user" : "";
                } else if (v.is_text() && syslog_facility_code(v.text())) {
                  log.syslog_facility = v.text();
                } else {
                  v.fail("[log] syslog must be true, false or a facility: user, daemon, local0 to local7");
                }
              },
              [](const LogConfig& log) { return config_literal(log.syslog_facility); });
  return section;
}

}  // namespace pgdr
