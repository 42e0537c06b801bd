#include <cstdio>
#include "core/config.h"

#include <toml++/toml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "core/path.h"
#include "core/redact.h"
#include "core/syslog_socket.h"

namespace pgdr {

namespace {

class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::node* where, const std::string& what) const {
    std::string loc = source_;
    if (where && where->source().begin.line > 0) loc += ":" + std::to_string(where->source().begin.line);
    throw Error(ErrorKind::config, "invalid configuration: " + loc + " (" + what + ")");
  }

  void only_keys(const toml::table& t, const std::string& section, std::set<std::string> allowed) const {
    for (auto&& [k, v] : t) {
      if (!allowed.count(std::string(k.str())))
        fail(&v, "unknown key '" + std::string(k.str()) + "' in [" + section + "]");
    }
  }

  std::string str(const toml::table& t, const std::string& section, const char* key, bool required,
                  std::string fallback = {}) const {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) fail(&t, "[" + section + "] needs '" + key + "'");
      return fallback;
    }
    if (!n->is_string()) fail(n, "'" + std::string(key) + "' in [" + section + "] must be a string");
    return n->as_string()->get();
  }

  int integer(const toml::table& t, const std::string& section, const char* key, int fallback, int lo, int hi) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_integer()) fail(n, "'" + std::string(key) + "' in [" + section + "] must be an integer");
    auto v = n->as_integer()->get();
    if (v < lo || v > hi)
      fail(n, "'" + std::string(key) + "' in [" + section + "] must be between " + std::to_string(lo) + " and " +
                  std::to_string(hi));
    return static_cast<int>(v);
  }

  bool boolean(const toml::table& t, const std::string& section, const char* key, bool fallback) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_boolean()) fail(n, "'" + std::string(key) + "' in [" + section + "] must be true or false");
    return n->as_boolean()->get();
  }

  std::chrono::milliseconds duration(const toml::table& t, const std::string& section, const char* key,
                                     std::chrono::milliseconds fallback) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_string()) fail(n, "'" + std::string(key) + "' in [" + section + "] must be a duration such as \"4h\"");
    try {
      return parse_duration(n->as_string()->get());
    } catch (const Error& e) {
      fail(n, e.what());
    }
  }

  double number(const toml::table& t, const std::string& section, const char* key, double fallback, double lo,
                double hi) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_number()) fail(n, "'" + std::string(key) + "' in [" + section + "] must be a number");
    double v = n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
    if (!(v >= lo && v <= hi)) {  // so that NaN, which compares false with both bounds, is refused
      auto shown = [](double x) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", x);
        return std::string(buf);
      };
      fail(n, "'" + std::string(key) + "' in [" + section + "] must be between " + shown(lo) + " and " + shown(hi));
    }
    return v;
  }

  std::vector<std::string> strings(const toml::table& t, const std::string& section, const char* key) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (n->is_string()) return {n->as_string()->get()};
    const toml::array* a = n->as_array();
    if (!a) fail(n, "'" + std::string(key) + "' in [" + section + "] must be a list of strings");
    std::vector<std::string> out;
    for (const toml::node& el : *a) {
      if (!el.is_string()) fail(&el, "'" + std::string(key) + "' in [" + section + "] must be a list of strings");
      out.push_back(el.as_string()->get());
    }
    return out;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

void require_absolute(const Checker& c, const toml::node* n, const std::string& what, const std::string& path) {
  if (path.empty() || path.front() != '/') c.fail(n, what + " must be an absolute path");
}

}  // namespace

const RepoConfig& Config::repo(const std::string& name) const {
  if (repos.empty()) throw Error(ErrorKind::config, "no repository configured in " + source, "add a [[repo]] section");
  if (name.empty()) return repos.front();
  for (const auto& r : repos)
    if (r.name == name) return r;
  throw Error(ErrorKind::config, "no repository named '" + name + "' in " + source);
}

std::string locate_config(const std::optional<std::string>& explicit_path) {
  namespace fs = std::filesystem;
  if (explicit_path) {
    if (!fs::exists(*explicit_path))
      throw Error(ErrorKind::config, "configuration file not found: " + *explicit_path);
    return *explicit_path;
  }
  if (const char* env = std::getenv("PGDR_CONFIG"); env && *env) {
    if (!fs::exists(env)) throw Error(ErrorKind::config, std::string("configuration file not found: ") + env + " (from PGDR_CONFIG)");
    return env;
  }
  for (const char* p : {"./pgdr.toml", "/etc/pgdr/pgdr.toml"})
    if (fs::exists(p)) return p;
  throw Error(ErrorKind::config, "no configuration file: none of --config, $PGDR_CONFIG, ./pgdr.toml, /etc/pgdr/pgdr.toml",
              "write one (see docs/CONFIGURATION.md) and pass it with --config FILE");
}

namespace {

// The keys of cfg whose values hold a secret: what the redactors would change.
std::vector<std::string> secret_keys(const Config& cfg) {
  std::vector<std::string> keys;
  if (conninfo_has_password(cfg.cluster.conninfo)) keys.push_back("[cluster] conninfo");
  if (conninfo_has_password(cfg.stream.conninfo)) keys.push_back("[stream] conninfo");
  if (redact_url(cfg.alerts.smtp_url) != cfg.alerts.smtp_url) keys.push_back("[alerts] smtp_url");
  for (const auto& u : cfg.alerts.webhook_urls)
    if (redact_url(u) != u) {
      keys.push_back("[alerts] webhook_urls");
      break;
    }
  for (const auto& r : cfg.repos)
    if (redact_url(r.s3_endpoint) != r.s3_endpoint) keys.push_back("[[repo]] '" + r.name + "' s3_endpoint");
  return keys;
}

// Others who can read the file can read the secret; warned on every read, so it shows in the
// server log (archive_command) and in cron mail until the mode is fixed.
void warn_if_exposed(const std::string& path, const Config& cfg) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 0044) == 0) return;
  auto keys = secret_keys(cfg);
  if (keys.empty()) return;
  std::string list;
  for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  log_warning("configuration file " + path + " (mode " + mode + ") is readable by group or others and holds a secret in " +
              list + " (chmod 600 it)");
}

}  // namespace

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::config, "unable to read configuration file: " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Config cfg = parse_config(ss.str(), path);
  warn_if_exposed(path, cfg);
  return cfg;
}

namespace {

// Where a repository's objects live, so that two [[repo]] sections naming one place are caught:
// both would take the one lock (a backup then finds it "locked" by itself) and write one set of
// objects under two names.
std::string repo_place(const RepoConfig& r) {
  if (!r.is_s3()) return "path: " + resolved_path(r.path);
  std::string endpoint = r.s3_endpoint, prefix = r.s3_prefix;
  for (auto& ch : endpoint) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (endpoint.ends_with('/')) endpoint.pop_back();
  while (prefix.starts_with('/')) prefix.erase(0, 1);
  while (prefix.ends_with('/')) prefix.pop_back();
  return "bucket and prefix: " + endpoint + " " + r.s3_bucket + "/" + prefix;
}

// A [[repo]] is either local (path) or S3 (s3_endpoint and the keys that go with it), never both.
void parse_repo_location(const Checker& c, const toml::table& t, RepoConfig& r) {
  const bool local = t.get("path") != nullptr;
  const bool s3 = t.get("s3_endpoint") != nullptr;
  if (local && s3) c.fail(&t, "[[repo]] '" + r.name + "' takes path or s3_endpoint, not both");
  if (!local && !s3) c.fail(&t, "[[repo]] '" + r.name + "' needs path (a local directory) or s3_endpoint");
  if (local) {
    for (const char* key : {"s3_bucket", "s3_region", "s3_prefix", "s3_uri_style", "s3_ca_file", "s3_verify_tls",
                            "s3_key_env", "s3_secret_env", "s3_token_env", "s3_connect_timeout", "s3_stall_timeout",
                            "s3_attempts"}) {
      if (const toml::node* n = t.get(key)) c.fail(n, std::string("'") + key + "' applies to an s3 repository, not one with path");
    }
    r.path = c.str(t, "repo", "path", true);
    require_absolute(c, t.get("path"), "[[repo]] path", r.path);
    return;
  }
  r.s3_endpoint = c.str(t, "repo", "s3_endpoint", true);
  if (r.s3_endpoint.empty()) c.fail(t.get("s3_endpoint"), "'s3_endpoint' in [repo] is empty");
  r.s3_bucket = c.str(t, "repo", "s3_bucket", true);
  r.s3_region = c.str(t, "repo", "s3_region", true);
  r.s3_prefix = c.str(t, "repo", "s3_prefix", false);
  r.s3_uri_style = c.str(t, "repo", "s3_uri_style", false, r.s3_uri_style);
  if (t.get("s3_uri_style") != nullptr && r.s3_uri_style != "host" && r.s3_uri_style != "path")
    c.fail(t.get("s3_uri_style"), "[repo] s3_uri_style must be \"host\" or \"path\"");
  r.s3_ca_file = c.str(t, "repo", "s3_ca_file", false);
  if (!r.s3_ca_file.empty()) require_absolute(c, t.get("s3_ca_file"), "[[repo]] s3_ca_file", r.s3_ca_file);
  r.s3_verify_tls = c.boolean(t, "repo", "s3_verify_tls", r.s3_verify_tls);
  for (auto [key, field] : {std::pair{"s3_key_env", &r.s3_key_env}, std::pair{"s3_secret_env", &r.s3_secret_env},
                            std::pair{"s3_token_env", &r.s3_token_env}}) {
    *field = c.str(t, "repo", key, false, *field);
    if (field->empty()) c.fail(t.get(key), std::string("'") + key + "' in [repo] is empty");
  }
  r.s3_connect_timeout = c.duration(t, "repo", "s3_connect_timeout", r.s3_connect_timeout);
  r.s3_stall_timeout = c.duration(t, "repo", "s3_stall_timeout", r.s3_stall_timeout);
  for (auto [key, value] : {std::pair{"s3_connect_timeout", r.s3_connect_timeout},
                            std::pair{"s3_stall_timeout", r.s3_stall_timeout}}) {
    if (value < std::chrono::seconds(1) || value > std::chrono::hours(1))
      c.fail(t.get(key), std::string("'") + key + "' in [repo] must be between 1s and 1h");
  }
  r.s3_attempts = c.integer(t, "repo", "s3_attempts", r.s3_attempts, 1, 100);
}

void parse_log(const Checker& c, const toml::table& t, LogConfig& log) {
  c.only_keys(t, "log", {"level", "file", "syslog"});
  if (const toml::node* n = t.get("level")) {
    auto level = parse_log_level(c.str(t, "log", "level", true));
    if (!level) c.fail(n, "[log] level must be error, warn, info or debug");
    log.level = *level;
  }
  log.file = c.str(t, "log", "file", false);
  if (t.get("file") != nullptr) require_absolute(c, t.get("file"), "[log] file", log.file);
  // true picks syslog(3)'s own default facility; a name picks another (PostgreSQL uses local0).
  if (const toml::node* n = t.get("syslog")) {
    if (n->is_boolean()) {
      log.syslog_facility = n->as_boolean()->get() ? "user" : "";
    } else if (n->is_string() && syslog_facility_code(n->as_string()->get())) {
      log.syslog_facility = n->as_string()->get();
    } else {
      c.fail(n, "[log] syslog must be true, false or a facility: user, daemon, local0 to local7");
    }
  }
}

}  // namespace

Config parse_config(const std::string& text, const std::string& source) {
  Checker c(source);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::config, "invalid configuration: " + source + ":" + std::to_string(e.source().begin.line) +
                                       " (" + std::string(e.description()) + ")");
  }
  Config cfg;
  cfg.source = source;
  c.only_keys(root, "top level", {"cluster", "repo", "key", "backup", "objectives", "catalog", "drill", "archive", "stream",
                                  "verify", "alerts", "retention", "schedule", "daemon", "log"});

  auto section = [&](const char* name) -> const toml::table* {
    const toml::node* n = root.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) c.fail(n, std::string("[") + name + "] must be a table");
    return n->as_table();
  };

  if (const toml::table* t = section("cluster")) {
    c.only_keys(*t, "cluster", {"name", "pgdata", "conninfo", "pg_bindir"});
    cfg.cluster.name = c.str(*t, "cluster", "name", false, "main");
    cfg.cluster.pgdata = c.str(*t, "cluster", "pgdata", false);
    if (!cfg.cluster.pgdata.empty()) require_absolute(c, t->get("pgdata"), "[cluster] pgdata", cfg.cluster.pgdata);
    cfg.cluster.conninfo = c.str(*t, "cluster", "conninfo", false);
    cfg.cluster.pg_bindir = c.str(*t, "cluster", "pg_bindir", false);
    if (!cfg.cluster.pg_bindir.empty())
      require_absolute(c, t->get("pg_bindir"), "[cluster] pg_bindir", cfg.cluster.pg_bindir);
  }

  if (const toml::node* n = root.get("repo")) {
    const toml::array* arr = n->as_array();
    if (!arr) c.fail(n, "repositories are written as [[repo]] sections");
    std::set<std::string> names;
    std::map<std::string, std::string> places;  // repo_place -> name
    for (const toml::node& el : *arr) {
      const toml::table* t = el.as_table();
      if (!t) c.fail(&el, "[[repo]] must be a table");
      c.only_keys(*t, "repo", {"name", "path", "s3_endpoint", "s3_bucket", "s3_region", "s3_prefix", "s3_uri_style",
                               "s3_ca_file", "s3_verify_tls", "s3_key_env", "s3_secret_env", "s3_token_env",
                               "s3_connect_timeout", "s3_stall_timeout", "s3_attempts"});
      RepoConfig r;
      r.name = c.str(*t, "repo", "name", true);
      if (!names.insert(r.name).second) c.fail(t, "two repositories are named '" + r.name + "'");
      parse_repo_location(c, *t, r);
      if (auto [it, fresh] = places.emplace(repo_place(r), r.name); !fresh)
        c.fail(t, "repositories '" + it->second + "' and '" + r.name + "' have one " + it->first);
      cfg.repos.push_back(std::move(r));
    }
  }

  if (const toml::table* t = section("key")) {
    c.only_keys(*t, "key", {"passphrase_env", "passphrase_command", "command_timeout"});
    cfg.key.passphrase_env = c.str(*t, "key", "passphrase_env", false);
    cfg.key.passphrase_command = c.str(*t, "key", "passphrase_command", false);
    cfg.key.command_timeout = c.duration(*t, "key", "command_timeout", cfg.key.command_timeout);
    if (cfg.key.command_timeout.count() <= 0) c.fail(t->get("command_timeout"), "[key] command_timeout must be above 0");
    if (!cfg.key.passphrase_env.empty() && !cfg.key.passphrase_command.empty())
      c.fail(t, "[key] takes passphrase_env or passphrase_command, not both");
  }

  if (const toml::table* t = section("backup")) {
    c.only_keys(*t, "backup",
                {"process_max", "compress", "compress_level", "checksum_page_warn_max", "full_read_every",
                 "summaries_wait"});
    cfg.backup.process_max = c.integer(*t, "backup", "process_max", cfg.backup.process_max, 1, 64);
    cfg.backup.compress = c.str(*t, "backup", "compress", false, cfg.backup.compress);
    if (cfg.backup.compress != "zstd" && cfg.backup.compress != "lz4" && cfg.backup.compress != "none")
      c.fail(t->get("compress"), "[backup] compress must be \"zstd\", \"lz4\" or \"none\"");
    cfg.backup.compress_level = c.integer(*t, "backup", "compress_level", cfg.backup.compress_level, -7, 19);
    cfg.backup.checksum_page_warn_max =
        c.integer(*t, "backup", "checksum_page_warn_max", cfg.backup.checksum_page_warn_max, 0, 1'000'000);
    cfg.backup.full_read_every = c.duration(*t, "backup", "full_read_every", cfg.backup.full_read_every);
    if (cfg.backup.full_read_every.count() < 0)
      c.fail(t->get("full_read_every"), "[backup] full_read_every must not be negative");
    cfg.backup.summaries_wait = c.duration(*t, "backup", "summaries_wait", cfg.backup.summaries_wait);
    if (cfg.backup.summaries_wait.count() < 0)
      c.fail(t->get("summaries_wait"), "[backup] summaries_wait must not be negative");
  }

  if (const toml::table* t = section("objectives")) {
    c.only_keys(*t, "objectives", {"rto", "rpo"});
    cfg.objectives.rto = c.duration(*t, "objectives", "rto", cfg.objectives.rto);
    cfg.objectives.rpo = c.duration(*t, "objectives", "rpo", cfg.objectives.rpo);
  }

  if (const toml::table* t = section("catalog")) {
    c.only_keys(*t, "catalog", {"path"});
    cfg.catalog.path = c.str(*t, "catalog", "path", false);
    if (!cfg.catalog.path.empty()) require_absolute(c, t->get("path"), "[catalog] path", cfg.catalog.path);
  }

  if (const toml::table* t = section("drill")) {
    c.only_keys(*t, "drill", {"dr_path", "app_check", "app_check_timeout", "heartbeat", "database", "server_user"});
    cfg.drill.dr_path = c.str(*t, "drill", "dr_path", false);
    if (!cfg.drill.dr_path.empty()) require_absolute(c, t->get("dr_path"), "[drill] dr_path", cfg.drill.dr_path);
    cfg.drill.app_check = c.str(*t, "drill", "app_check", false);
    cfg.drill.app_check_timeout = c.duration(*t, "drill", "app_check_timeout", cfg.drill.app_check_timeout);
    cfg.drill.heartbeat = c.boolean(*t, "drill", "heartbeat", cfg.drill.heartbeat);
    cfg.drill.database = c.str(*t, "drill", "database", false);
    cfg.drill.server_user = c.str(*t, "drill", "server_user", false);
  }

  if (const toml::table* t = section("archive")) {
    c.only_keys(*t, "archive", {"agent_socket"});
    cfg.archive.agent_socket = c.str(*t, "archive", "agent_socket", false);
    if (!cfg.archive.agent_socket.empty())
      require_absolute(c, t->get("agent_socket"), "[archive] agent_socket", cfg.archive.agent_socket);
  }
  if (const toml::table* t = section("stream")) {
    c.only_keys(*t, "stream", {"conninfo", "slot", "application_name", "status_interval", "flush_interval", "retry_max"});
    cfg.stream.conninfo = c.str(*t, "stream", "conninfo", false);
    cfg.stream.slot = c.str(*t, "stream", "slot", false);
    cfg.stream.application_name = c.str(*t, "stream", "application_name", false, cfg.stream.application_name);
    cfg.stream.status_interval = c.duration(*t, "stream", "status_interval", cfg.stream.status_interval);
    cfg.stream.flush_interval = c.duration(*t, "stream", "flush_interval", cfg.stream.flush_interval);
    cfg.stream.retry_max = c.duration(*t, "stream", "retry_max", cfg.stream.retry_max);
    for (auto [key, value] : {std::pair{"status_interval", cfg.stream.status_interval},
                              std::pair{"flush_interval", cfg.stream.flush_interval},
                              std::pair{"retry_max", cfg.stream.retry_max}})
      if (value.count() <= 0) c.fail(t->get(key), std::string("[stream] ") + key + " must be longer than zero");
  }

  if (const toml::table* t = section("verify")) {
    c.only_keys(*t, "verify", {"snapshot_interval", "window", "coverage_warn", "coverage_fail", "reverify_after",
                               "anomaly_threshold", "anomaly_history", "process_max"});
    auto& v = cfg.verify;
    v.snapshot_interval = c.duration(*t, "verify", "snapshot_interval", v.snapshot_interval);
    v.window = c.duration(*t, "verify", "window", v.window);
    if (v.snapshot_interval.count() < 1000) c.fail(t, "[verify] snapshot_interval must be at least 1s");
    if (v.window < v.snapshot_interval) c.fail(t, "[verify] window must be at least snapshot_interval");
    v.coverage_warn = c.number(*t, "verify", "coverage_warn", v.coverage_warn, 0, 100);
    v.coverage_fail = c.number(*t, "verify", "coverage_fail", v.coverage_fail, 0, 100);
    if (v.coverage_fail > v.coverage_warn) c.fail(t, "[verify] coverage_fail must not exceed coverage_warn");
    v.reverify_after = c.duration(*t, "verify", "reverify_after", v.reverify_after);
    v.anomaly_threshold = c.number(*t, "verify", "anomaly_threshold", v.anomaly_threshold, 1, 1000);
    v.anomaly_history = c.integer(*t, "verify", "anomaly_history", v.anomaly_history, 3, 1000);
    v.process_max = c.integer(*t, "verify", "process_max", v.process_max, 1, 64);
  }

  if (const toml::table* t = section("alerts")) {
    c.only_keys(*t, "alerts", {"smtp_url", "starttls", "smtp_user", "smtp_password_env", "from", "to", "webhook_urls",
                               "min_severity", "timeout", "ca_file"});
    auto& a = cfg.alerts;
    a.smtp_url = c.str(*t, "alerts", "smtp_url", false);
    if (!a.smtp_url.empty() && !a.smtp_url.starts_with("smtp://") && !a.smtp_url.starts_with("smtps://"))
      c.fail(t->get("smtp_url"), "[alerts] smtp_url must start with smtp:// or smtps://");
    a.starttls = c.boolean(*t, "alerts", "starttls", a.starttls);
    a.ca_file = c.str(*t, "alerts", "ca_file", false);
    if (!a.ca_file.empty()) require_absolute(c, t->get("ca_file"), "[alerts] ca_file", a.ca_file);
    a.smtp_user = c.str(*t, "alerts", "smtp_user", false);
    a.smtp_password_env = c.str(*t, "alerts", "smtp_password_env", false);
    a.from = c.str(*t, "alerts", "from", false);
    a.to = c.strings(*t, "alerts", "to");
    if (!a.smtp_url.empty() && (a.from.empty() || a.to.empty()))
      c.fail(t, "[alerts] smtp_url needs 'from' and 'to'");
    a.webhook_urls = c.strings(*t, "alerts", "webhook_urls");
    for (const auto& u : a.webhook_urls)
      if (!u.starts_with("http://") && !u.starts_with("https://"))
        c.fail(t->get("webhook_urls"), "[alerts] webhook_urls must be http:// or https:// URLs");
    a.min_severity = c.str(*t, "alerts", "min_severity", false, a.min_severity);
    if (a.min_severity != "investigate" && a.min_severity != "warning" && a.min_severity != "alert" &&
        a.min_severity != "critical")
      c.fail(t->get("min_severity"), "[alerts] min_severity must be investigate, warning, alert or critical");
    a.timeout = c.duration(*t, "alerts", "timeout", a.timeout);
  }

  if (const toml::table* t = section("retention")) {
    c.only_keys(*t, "retention", {"hourly", "daily", "weekly", "monthly", "yearly", "min_age", "lock_wait",
                                      "repack_threshold", "repack_grace", "repack_max_packs"});
    auto& r = cfg.retention;
    r.hourly = c.integer(*t, "retention", "hourly", r.hourly, 0, 1'000'000);
    r.daily = c.integer(*t, "retention", "daily", r.daily, 0, 1'000'000);
    r.weekly = c.integer(*t, "retention", "weekly", r.weekly, 0, 1'000'000);
    r.monthly = c.integer(*t, "retention", "monthly", r.monthly, 0, 1'000'000);
    r.yearly = c.integer(*t, "retention", "yearly", r.yearly, 0, 1'000'000);
    r.min_age = c.duration(*t, "retention", "min_age", r.min_age);
    r.lock_wait = c.duration(*t, "retention", "lock_wait", r.lock_wait);
    r.repack_threshold = c.number(*t, "retention", "repack_threshold", r.repack_threshold, 0, 100);
    r.repack_grace = c.duration(*t, "retention", "repack_grace", r.repack_grace);
    r.repack_max_packs = c.integer(*t, "retention", "repack_max_packs", r.repack_max_packs, 1, 1'000'000);
    if (r.min_age.count() < 0) c.fail(t->get("min_age"), "[retention] min_age must not be negative");
    if (r.lock_wait.count() < 0) c.fail(t->get("lock_wait"), "[retention] lock_wait must not be negative");
    if (r.repack_grace.count() < 0) c.fail(t->get("repack_grace"), "[retention] repack_grace must not be negative");
  }

  if (const toml::table* t = section("schedule")) {
    c.only_keys(*t, "schedule", {"backup", "verify", "restore_test", "drill", "expire", "measure"});
    cfg.schedule.backup = c.str(*t, "schedule", "backup", false);
    cfg.schedule.verify = c.str(*t, "schedule", "verify", false);
    cfg.schedule.restore_test = c.str(*t, "schedule", "restore_test", false);
    cfg.schedule.drill = c.str(*t, "schedule", "drill", false);
    cfg.schedule.expire = c.str(*t, "schedule", "expire", false);
    cfg.schedule.measure = c.str(*t, "schedule", "measure", false);
  }

  if (const toml::table* t = section("daemon")) {
    c.only_keys(*t, "daemon", {"listen", "state_file", "heatmap_days", "max_connections", "request_timeout",
                               "auth_token_file", "auth_token_env", "health_auth", "tls_cert_file", "tls_key_file"});
    cfg.daemon.listen = c.str(*t, "daemon", "listen", false, cfg.daemon.listen);
    cfg.daemon.state_file = c.str(*t, "daemon", "state_file", false);
    if (!cfg.daemon.state_file.empty())
      require_absolute(c, t->get("state_file"), "[daemon] state_file", cfg.daemon.state_file);
    cfg.daemon.heatmap_days = c.integer(*t, "daemon", "heatmap_days", cfg.daemon.heatmap_days, 1, 366);
    auto& d = cfg.daemon;
    d.max_connections = c.integer(*t, "daemon", "max_connections", d.max_connections, 2, 1000);
    d.request_timeout = c.duration(*t, "daemon", "request_timeout", d.request_timeout);
    if (d.request_timeout < std::chrono::milliseconds(100) || d.request_timeout > std::chrono::minutes(5))
      c.fail(t->get("request_timeout"), "[daemon] request_timeout must be between 100ms and 5m");
    d.auth_token_file = c.str(*t, "daemon", "auth_token_file", false);
    if (!d.auth_token_file.empty())
      require_absolute(c, t->get("auth_token_file"), "[daemon] auth_token_file", d.auth_token_file);
    d.auth_token_env = c.str(*t, "daemon", "auth_token_env", false);
    if (!d.auth_token_file.empty() && !d.auth_token_env.empty())
      c.fail(t, "[daemon] takes auth_token_file or auth_token_env, not both");
    d.health_auth = c.boolean(*t, "daemon", "health_auth", d.health_auth);
    if (d.health_auth && d.auth_token_file.empty() && d.auth_token_env.empty())
      c.fail(t->get("health_auth"), "[daemon] health_auth needs auth_token_file or auth_token_env");
    d.tls_cert_file = c.str(*t, "daemon", "tls_cert_file", false);
    d.tls_key_file = c.str(*t, "daemon", "tls_key_file", false);
    if (d.tls_cert_file.empty() != d.tls_key_file.empty())
      c.fail(t, "[daemon] tls_cert_file and tls_key_file go together");
    if (!d.tls_cert_file.empty()) {
      require_absolute(c, t->get("tls_cert_file"), "[daemon] tls_cert_file", d.tls_cert_file);
      require_absolute(c, t->get("tls_key_file"), "[daemon] tls_key_file", d.tls_key_file);
    }
  }

  if (const toml::table* t = section("log")) parse_log(c, *t, cfg.log);
  return cfg;
}

}  // namespace pgdr
