// Redaction of secrets that travel inside URLs and configuration values, before anything is
// printed or stored (messages, logs, verify reports, catalog rows, dashboard pages). One rule,
// here, for every URL pgdr shows: alert webhooks, SMTP servers, endpoints.
//
// redact_url keeps what locates a service and drops what authenticates to it:
//   - userinfo ("user:password@") is removed;
//   - every query value becomes "***" (names are kept: "?token=***&channel=***"); a parameter
//     without '=' becomes "***"; a fragment becomes "#***";
//   - a path segment becomes "***" when it looks like a token: 16 or more characters mixing
//     letters and digits, or 32 or more characters of any kind, or any segment after a known
//     hook prefix segment ("services" of Slack, "hooks" of Mattermost and others, "webhooks" of
//     Discord and others, "webhookb2" of Microsoft Teams; compared without case), since those
//     carry the token in short segments ("/services/T000/B000/XXXXSECRET").
// Text that is not a URL ("scheme://...") is returned unchanged. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace pgdr {

inline constexpr std::string_view kRedacted = "***";

std::string redact_url(std::string_view url);
// Every "scheme://..." in text (up to whitespace, a quote or an angle bracket) redacted as above.
std::string redact_urls_in(std::string_view text);
// Whether a libpq connection string carries a password (a "password" keyword, or a URI with
// "user:password@"), for the configuration file's permission warning.
bool conninfo_has_password(std::string_view conninfo);

}  // namespace pgdr
