// Alerts: one message per run, by e-mail (SMTP over libcurl, with STARTTLS and authentication) and
// by webhook (a JSON POST), carrying every finding at or above the configured severity. A channel
// that fails is reported in the result, never thrown: an unreachable mail server must not turn a
// verify into a crash. Never puts a secret (the SMTP password, credentials, query values or path
// tokens of a URL) in a result: URLs go out through redact_url (core/redact.h) only.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "alert/alert_config.h"
#include "core/redact.h"

namespace pgdr::alert {

enum class Severity { investigate = 0, warning = 1, alert = 2, critical = 3 };
std::optional<Severity> parse_severity(std::string_view text);
std::string to_string(Severity s);

struct Finding {
  Severity severity = Severity::critical;
  std::string message;
};

struct Message {
  std::string subject;            // e.g. "pgdr verify FAIL: cluster 'main', repository 'local'"
  std::string summary;            // readable text put before the findings
  std::vector<Finding> findings;  // every finding of the run; filtered by min_severity here
  nlohmann::json payload;         // the webhook body's "report" (the run's JSON report)
};

struct Delivery {
  std::string channel;  // "smtp smtp://host:port" or "webhook https://host/path", redacted (core/redact.h)
  bool ok = false;
  std::string error;    // why it failed, one line, URLs in it redacted
  std::size_t findings = 0;
};

// The findings at or above config.min_severity; empty when none (then send() sends nothing).
std::vector<Finding> to_send(const AlertsConfig& config, const std::vector<Finding>& findings);
// Sends one e-mail (to every recipient) and one POST per webhook when any finding reaches
// min_severity; returns one Delivery per channel tried.
std::vector<Delivery> send(const AlertsConfig& config, const Message& message);

// The e-mail (headers and body) and the webhook JSON, exposed for tests.
std::string email_text(const AlertsConfig& config, const Message& message, const std::vector<Finding>& findings);
nlohmann::json webhook_json(const Message& message, const std::vector<Finding>& findings);

}  // namespace pgdr::alert
