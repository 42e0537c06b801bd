#include "alert/alert_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<AlertsConfig>& alerts_section() {
  using A = AlertsConfig;
  static const auto section = ConfigSection<A>("alerts")
      .text("smtp_url", &A::smtp_url, {},
            ConfigRule<std::string>{[](const std::string& u) {
                                      return u.empty() || u.starts_with("smtp://") || u.starts_with("smtps://");
                                    },
                                    "[alerts] smtp_url must start with smtp:// or smtps://"})
      .flag("starttls", &A::starttls)
      .text("ca_file", &A::ca_file, ConfigText::absolute_or_empty())
      .text("smtp_user", &A::smtp_user)
      .text("smtp_password_env", &A::smtp_password_env)
      .text("from", &A::from)
      .texts("to", &A::to)
      .check([](const A& a, const ConfigTable& t) {
        if (!a.smtp_url.empty() && (a.from.empty() || a.to.empty())) t.fail("[alerts] smtp_url needs 'from' and 'to'");
      })
      .texts("webhook_urls", &A::webhook_urls,
             ConfigRule<std::string>{[](const std::string& u) { return u.starts_with("http://") || u.starts_with("https://"); },
                                     "[alerts] webhook_urls must be http:// or https:// URLs"})
      .choice("min_severity", &A::min_severity, {"investigate", "warning", "alert", "critical"},
              "[alerts] min_severity must be investigate, warning, alert or critical")
      .duration("timeout", &A::timeout);
  return section;
}

}  // namespace pgdr
