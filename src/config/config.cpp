#include "config/config.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/redact.h"

namespace pgdr {

namespace {

// A section with where it goes in Config.
struct Part {
  ConfigSectionInfo info;
  std::function<void(const ConfigTable& top, Config& config)> read;
};

template <class S>
Part table_part(const ConfigSection<S>& section, S Config::*member) {
  return {{section.name(), false, section.keys(),
           [&section, member](const Config& c, std::string_view key) { return section.shown(c.*member, key); }},
          [&section, member](const ConfigTable& top, Config& c) {
            if (auto t = top.table(section.name())) section.read(*t, c.*member);
          }};
}

template <class S>
Part array_part(const ConfigSection<S>& section, std::vector<S> Config::*member, std::string not_array_message) {
  return {{section.name(), true, section.keys(),
           [&section, member](const Config& c, std::string_view key) {
             return (c.*member).empty() ? std::string() : section.shown((c.*member).front(), key);
           }},
          [&section, member, not_array_message](const ConfigTable& top, Config& c) {
            for (const ConfigTable& t : top.tables(section.name(), not_array_message)) {
              S element;
              section.read(t, element, c.*member);
              (c.*member).push_back(std::move(element));
            }
          }};
}

const std::vector<Part>& parts() {
  static const std::vector<Part> all = {
      table_part(cluster_section(), &Config::cluster),
      array_part(repo_section(), &Config::repos, "repositories are written as [[repo]] sections"),
      table_part(key_section(), &Config::key),
      table_part(backup_section(), &Config::backup),
      table_part(objectives_section(), &Config::objectives),
      table_part(catalog_section(), &Config::catalog),
      table_part(drill_section(), &Config::drill),
      table_part(archive_section(), &Config::archive),
      table_part(stream_section(), &Config::stream),
      table_part(verify_section(), &Config::verify),
      table_part(alerts_section(), &Config::alerts),
      table_part(repo::retention_section(), &Config::retention),
      table_part(schedule_section(), &Config::schedule),
      table_part(daemon_section(), &Config::daemon),
      table_part(log_section(), &Config::log),
  };
  return all;
}

}  // namespace

const std::vector<ConfigSectionInfo>& config_sections() {
  static const std::vector<ConfigSectionInfo> all = [] {
    std::vector<ConfigSectionInfo> out;
    for (const Part& p : parts()) out.push_back(p.info);
    return out;
  }();
  return all;
}

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

Config parse_config(const std::string& text, const std::string& source) {
  const ConfigDocument doc(text, source);
  const ConfigTable top = doc.top();
  std::vector<std::string> sections;
  for (const Part& p : parts()) sections.push_back(p.info.name);
  top.refuse_unknown(sections);
  Config cfg;
  cfg.source = source;
  for (const Part& p : parts()) p.read(top, cfg);
  return cfg;
}

}  // namespace pgdr
