#include "daemon/daemon_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<ScheduleConfig>& schedule_section() {
  using S = ScheduleConfig;
  static const auto section = ConfigSection<S>("schedule")
      .text("backup", &S::backup)
      .text("verify", &S::verify)
      .text("restore_test", &S::restore_test)
      .text("drill", &S::drill)
      .text("expire", &S::expire)
      .text("measure", &S::measure);
  return section;
}

const ConfigSection<DaemonConfig>& daemon_section() {
  using D = DaemonConfig;
  static const auto section = ConfigSection<D>("daemon")
      .text("listen", &D::listen)
      .text("state_file", &D::state_file, ConfigText::absolute_or_empty())
      .integer("heatmap_days", &D::heatmap_days, 1, 366)
      .integer("max_connections", &D::max_connections, 2, 1000)
      .duration("request_timeout", &D::request_timeout,
                between(std::chrono::milliseconds(100), std::chrono::minutes(5),
                        "[daemon] request_timeout must be between 100ms and 5m"))
      .text("auth_token_file", &D::auth_token_file, ConfigText::absolute_or_empty())
      .text("auth_token_env", &D::auth_token_env)
      .check([](const D& d, const ConfigTable& t) {
        if (!d.auth_token_file.empty() && !d.auth_token_env.empty())
          t.fail("[daemon] takes auth_token_file or auth_token_env, not both");
      })
      .flag("health_auth", &D::health_auth)
      .check([](const D& d, const ConfigTable& t) {
        if (d.health_auth && d.auth_token_file.empty() && d.auth_token_env.empty())
          t.fail_at("health_auth", "[daemon] health_auth needs auth_token_file or auth_token_env");
      })
      .text("tls_cert_file", &D::tls_cert_file)
      .text("tls_key_file", &D::tls_key_file)
      .check([](const D& d, const ConfigTable& t) {
        if (d.tls_cert_file.empty() != d.tls_key_file.empty()) t.fail("[daemon] tls_cert_file and tls_key_file go together");
        if (!d.tls_cert_file.empty()) {
          t.require_absolute("tls_cert_file", d.tls_cert_file);
          t.require_absolute("tls_key_file", d.tls_key_file);
        }
      });
  return section;
}

}  // namespace pgdr
