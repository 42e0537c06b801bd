// The [schedule] and [daemon] sections: when `pgdr daemon` runs each job, and its HTTP endpoint and
// dashboard. Hold no secret: the token and the TLS key are named by a file or an environment
// variable, read when the daemon starts (daemon/http_auth.h).
#pragma once

#include <chrono>
#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

// When each job runs: a cron expression in UTC (5 fields, or 6 with seconds first),
// "@hourly"/"@daily"/"@weekly"/"@monthly", "@every <duration>", or for expire "after backup".
// Empty: the job is not scheduled. Checked by the daemon's parser (daemon/cron.h) when it starts.
struct ScheduleConfig {
  std::string backup, verify, restore_test, drill, expire, measure;
};

struct DaemonConfig {
  std::string listen = "127.0.0.1:7433";  // host:port of /metrics, /health and the dashboard; "" for none
  std::string state_file;  // last run of each job, for catch-up; empty: the catalog path + ".daemon.json"
  int heatmap_days = 14;   // days shown in the dashboard's coverage heat map
  // Connections served at once; one more is answered 503 and closed at once (daemon/http_limits.h).
  int max_connections = 128;
  // How long a client has to send a whole request, from its connection (or its previous response).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
  std::string auth_token_file;  // bearer token, first line of a file of mode 0600 or stricter
  std::string auth_token_env;   // or the name of the environment variable holding it
  bool health_auth = false;     // /health asks for the token too (else it answers without the reasons)
  std::string tls_cert_file;    // PEM certificate chain; with tls_key_file, serve HTTPS only
  std::string tls_key_file;     // PEM private key, mode 0600 or stricter
};

const ConfigSection<ScheduleConfig>& schedule_section();
const ConfigSection<DaemonConfig>& daemon_section();

}  // namespace pgdr
