#include "restore/target_guard.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/file.h"
#include "pg/control_file.h"
#include "restore/target_lock.h"

namespace pgdr::restore {

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace

void refuse_live_target(const std::vector<LiveCluster>& live, const std::string& target) {
  for (const auto& c : live) {
    // Worded as before for the plain case, a --delta onto a server that still runs.
    if (target == c.data_dir)
      throw Error(ErrorKind::io,
                  "refusing to restore over a running server: " + target + " (postmaster pid " +
                      std::to_string(c.postmaster_pid) + ")",
                  "stop the server first");
    if (auto why = live_overlap(c, target))
      throw Error(ErrorKind::io, "refusing to restore into a running cluster's files: " + target + " (" + *why + ")",
                  "restore into a directory apart from every running cluster");
  }
}

void refuse_live_location(const std::vector<LiveCluster>& live, const std::string& oid, const std::string& location) {
  for (const auto& c : live)
    if (auto why = live_overlap(c, location))
      throw Error(ErrorKind::io,
                  "refusing to restore tablespace " + oid + " into a running cluster's files: " + location + " (" +
                      *why + ")",
                  "map it elsewhere with --tablespace-map " + oid + "=DIR");
}

std::optional<std::string> control_system_identifier(const std::string& data_dir) {
  // A damaged or unknown pg_control throws Error(corrupt) naming it: such a directory is not
  // rewritten on the strength of eight bytes that may be garbage.
  auto control = pg::read_control_file(data_dir);
  if (!control) return std::nullopt;
  return std::to_string(control->system_identifier);
}

bool empty_but_lock(const std::string& dir) {
  auto names = list_directory(dir);
  if (!names) throw_errno("unable to read directory", dir, errno);
  return std::all_of(names->begin(), names->end(), [](const std::string& n) { return n == TargetLock::kFileName; });
}

std::optional<std::string> delta_refusal(const std::string& target, const std::string& system_identifier,
                                         const std::string& unfinished_system_identifier) {
  if (empty_but_lock(target)) return std::nullopt;
  if (!unfinished_system_identifier.empty()) {
    if (unfinished_system_identifier == system_identifier) return std::nullopt;
    return "an unfinished restore of another cluster: system identifier " + unfinished_system_identifier +
           ", the snapshot's is " + system_identifier;
  }
  if (!exists(target + "/PG_VERSION") || !exists(target + "/global/pg_control"))
    return "not empty, and not a PostgreSQL data directory: no PG_VERSION or global/pg_control";
  auto id = control_system_identifier(target);
  if (!id) return "global/pg_control vanished while it was read";
  if (*id != system_identifier)
    return "a data directory of another cluster: system identifier " + *id + ", the snapshot's is " + system_identifier;
  return std::nullopt;
}

}  // namespace pgdr::restore
