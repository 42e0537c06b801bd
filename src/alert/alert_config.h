// The [alerts] section: where `pgdr verify` sends its one message per run (alert/alert.h). Holds
// no secret: the SMTP password is named by an environment variable.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace pgdr {

template <class S>
class ConfigSection;

struct AlertsConfig {
  std::string smtp_url;  // smtp://host:port or smtps://host:port; empty: no e-mail
  bool starttls = false;  // require STARTTLS on smtp://
  std::string ca_file;    // CA certificates (PEM) to trust for TLS, instead of the system's
  std::string smtp_user;
  std::string smtp_password_env;
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> webhook_urls;  // each gets the JSON by POST
  std::string min_severity = "investigate";  // investigate < warning < alert < critical
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

const ConfigSection<AlertsConfig>& alerts_section();

}  // namespace pgdr
