#include "pg/binaries.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "core/subprocess.h"
#include "pg/version.h"

namespace pgdr::pg {

namespace {

constexpr const char* kDebianRoot = "/usr/lib/postgresql";

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '/')) s.pop_back();
  return s;
}

// `postgres --version` is the cheapest honest answer (PG_VERSION files sit in data directories, not
// beside binaries); cached, since drills ask once per phase.
std::optional<int> ask_version(const std::string& bindir) {
  static std::mutex mu;
  static std::map<std::string, std::optional<int>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(bindir); it != cache.end()) return it->second;
  std::optional<int> major;
  const std::string postgres = bindir + "/postgres";
  if (executable(postgres)) {
    try {
      const ProcessResult r = run_process({postgres, "--version"}, {}, {"LC_ALL=C"});
      static const std::regex kVersion(R"(\(PostgreSQL\) (\d+)(\.\d+)?)");
      std::smatch m;
      if (r.exit_code == 0 && std::regex_search(r.out, m, kVersion)) major = std::stoi(m[1].str());
    } catch (const Error&) {
      // Not runnable here: no answer, like a missing binary.
    }
  }
  cache.emplace(bindir, major);
  return major;
}

std::optional<std::string> pg_config_bindir() {
  try {
    const ProcessResult r = run_process({"pg_config", "--bindir"}, {}, {"LC_ALL=C"});
    if (r.exit_code == 0 && !trim(r.out).empty()) return trim(r.out);
  } catch (const Error&) {
    // No pg_config on PATH.
  }
  return std::nullopt;
}

std::string set_bindir_hint(int major) {
  return "set [cluster] pg_bindir to the directory holding initdb, pg_ctl and postgres of PostgreSQL " +
         std::to_string(major) + " (Debian: apt-get install postgresql-" + std::to_string(major) + ")";
}

}  // namespace

std::optional<int> server_major_in(const std::string& bindir) { return ask_version(trim(bindir)); }

ServerPrograms find_server_programs(int major, const std::string& configured_bindir) {
  if (!is_supported_major(major))
    throw Error(ErrorKind::config, "PostgreSQL " + std::to_string(major) + " is not supported (pgdr supports " +
                                       supported_range_text() + ")");
  std::string passed_over;
  if (!configured_bindir.empty()) {
    const std::string dir = trim(configured_bindir);
    const auto found = server_major_in(dir);
    if (found == major) return {major, dir};
    passed_over = "[cluster] pg_bindir " + dir +
                  (found ? " holds PostgreSQL " + std::to_string(*found) : " holds no runnable postgres") + ", ";
  }
  const std::string debian = std::string(kDebianRoot) + "/" + std::to_string(major) + "/bin";
  if (server_major_in(debian) == major) return {major, debian};
  if (auto dir = pg_config_bindir(); dir && server_major_in(*dir) == major) return {major, *dir};
  throw Error(ErrorKind::config,
              "no PostgreSQL " + std::to_string(major) + " server programs found (" + passed_over + "none in " +
                  debian + " or pg_config --bindir)",
              set_bindir_hint(major));
}

std::string find_client_program(const std::string& name, const ServerPrograms& near) {
  if (!near.bindir.empty() && executable(near.program(name))) return near.program(name);
  // A newer client talks to older servers; the newest installed major is the best guess.
  std::error_code ec;
  int best = -1;
  for (const auto& entry : std::filesystem::directory_iterator(kDebianRoot, ec)) {
    const std::string dir_name = entry.path().filename().string();
    if (dir_name.empty() || dir_name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int m = std::stoi(dir_name);
    if (m > best && executable(entry.path().string() + "/bin/" + name)) best = m;
  }
  if (best >= 0) return std::string(kDebianRoot) + "/" + std::to_string(best) + "/bin/" + name;
  if (auto dir = pg_config_bindir(); dir && executable(*dir + "/" + name)) return *dir + "/" + name;
  if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');)
      if (!dir.empty() && executable(dir + "/" + name)) return dir + "/" + name;
  }
  throw Error(ErrorKind::config, "no " + name + " found (looked beside " + near.bindir + ", in " + kDebianRoot +
                                     "/*/bin and on PATH)",
              "install PostgreSQL's client programs (Debian: postgresql-client)");
}

int data_directory_major(const std::string& data_dir) {
  std::ifstream in(data_dir + "/PG_VERSION");
  int major = 0;
  if (!(in >> major) || major <= 0)
    throw Error(ErrorKind::not_found, "not a PostgreSQL data directory: " + data_dir + " (no readable PG_VERSION)");
  return major;
}

}  // namespace pgdr::pg
