#include "restore/live_clusters.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>
#include <set>

#include "core/file.h"
#include "core/path.h"
#include "pg/data_directory.h"

namespace pgdr::restore {

namespace {

std::string first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

bool is_postgres(const std::string& comm) { return comm == "postgres" || comm == "postmaster"; }

// The parent pid from /proc/PID/stat: the field after the state, which follows the last ')' (the
// command name in parentheses may itself hold spaces and parentheses).
long parent_pid(const std::string& stat_line) {
  std::size_t close = stat_line.rfind(')');
  if (close == std::string::npos || close + 4 >= stat_line.size()) return 0;
  return std::strtol(stat_line.c_str() + close + 4, nullptr, 10);
}

std::vector<std::string> tablespace_locations(const std::string& data_dir) {
  std::vector<std::string> out;
  // In-place tablespaces (directories under pg_tblspc) lie in the data directory already.
  for (const auto& [oid, location] : pg::tablespace_links(data_dir))
    if (!path_within(location, data_dir)) out.push_back(location);
  std::sort(out.begin(), out.end());
  return out;
}

void add_cluster(std::vector<LiveCluster>& found, const std::string& data_dir, long pid) {
  std::string dir = resolved_path(data_dir);
  for (const auto& c : found)
    if (c.data_dir == dir) return;
  found.push_back({dir, pid, tablespace_locations(dir)});
}

// Postmasters in the process table: processes named postgres whose parent is not (the others are
// its backends and helpers). The postmaster changes into its data directory at start, so /proc/PID/cwd
// names it. Reading another process's cwd needs root or the same user; when it is not readable the
// postmaster is skipped. That is safe: it then runs as another user, and PostgreSQL keeps its data
// directory (mode 0700 or 0750, never group-writable) and tablespace directories (0700) writable by
// that user alone, so this process could not write there either; a restore would fail on
// permissions, not damage the cluster. The postmaster.pid search covers what it can read.
void scan_process_table(const std::string& proc_root, std::vector<LiveCluster>& found) {
  for (const std::string& pid : list_directory(proc_root).value_or(std::vector<std::string>{})) {
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    const std::string base = proc_root + "/" + pid;
    if (!is_postgres(first_line(base + "/comm"))) continue;
    long parent = parent_pid(first_line(base + "/stat"));
    if (parent > 0 && is_postgres(first_line(proc_root + "/" + std::to_string(parent) + "/comm"))) continue;
    char buf[PATH_MAX];
    ssize_t n = readlink((base + "/cwd").c_str(), buf, sizeof buf - 1);
    if (n <= 0) continue;
    std::string cwd(buf, static_cast<std::size_t>(n));
    if (cwd.front() != '/' || cwd.ends_with(" (deleted)")) continue;
    // A postgres process not (yet) in a data directory — one starting up, `postgres -C`, a
    // single-user run from elsewhere — names none: its cwd ("/", say) would put every path
    // inside a running cluster.
    struct stat st;
    if (::stat((cwd + "/PG_VERSION").c_str(), &st) != 0) continue;
    add_cluster(found, cwd, std::strtol(pid.c_str(), nullptr, 10));
  }
}

std::string cluster_words(const LiveCluster& c) {
  return "the running cluster with postmaster pid " + std::to_string(c.postmaster_pid);
}

}  // namespace

std::optional<long> live_postmaster_pid(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  // EPERM: the process exists but belongs to another user.
  if (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return pid;
  return std::nullopt;
}

std::vector<LiveCluster> find_live_clusters(const LiveClusterSearch& search) {
  std::vector<LiveCluster> found;
  std::set<std::string> checked;
  for (const auto& d : search.directories) {
    if (d.empty()) continue;
    std::string dir = resolved_path(d);
    for (;;) {
      if (!checked.insert(dir).second) break;
      if (auto pid = live_postmaster_pid(dir)) add_cluster(found, dir, *pid);
      if (dir == "/") break;
      std::size_t slash = dir.rfind('/');
      dir = slash == 0 ? "/" : dir.substr(0, slash);
    }
  }
  if (!search.proc_root.empty()) scan_process_table(search.proc_root, found);
  return found;
}

std::optional<std::string> live_overlap(const LiveCluster& c, const std::string& path) {
  if (path == c.data_dir) return "the data directory of " + cluster_words(c);
  if (path_within(path, c.data_dir)) return "inside the data directory " + c.data_dir + " of " + cluster_words(c);
  if (path_within(c.data_dir, path)) return "holds the data directory " + c.data_dir + " of " + cluster_words(c);
  for (const auto& ts : c.tablespaces) {
    std::string of = "a tablespace location of " + cluster_words(c) + " at " + c.data_dir;
    if (path == ts) return of;
    if (path_within(path, ts)) return "inside " + ts + ", " + of;
    if (path_within(ts, path)) return "holds " + ts + ", " + of;
  }
  return std::nullopt;
}

}  // namespace pgdr::restore
