#include "restore/target_dir.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/error.h"
#include "core/file.h"
#include "core/path.h"
#include "restore/live_clusters.h"
#include "restore/target_guard.h"

namespace pgdr::restore {

namespace {

using repo::EntryType;
using repo::ManifestIndex;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_location(const std::string& snapshot, const std::string& location) {
  if (location.empty() || location.front() != '/' || location.find("/../") != std::string::npos ||
      location.ends_with("/..") || location.find("/./") != std::string::npos)
    throw Error(ErrorKind::corrupt, "refusing tablespace location '" + location + "' in snapshot " + snapshot +
                                        " (not a plain absolute path)");
}

std::string absolute(const std::string& dir) {
  std::string out = dir;
  if (out.empty() || out.front() != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) throw_errno("unable to read the working directory", ".", errno);
    out = std::string(cwd) + "/" + out;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The directory entries accepted by keep, sorted by path, so that each parent comes before its
// children: manifest entries are in the order backup workers finished them.
template <typename Keep>
std::vector<const ManifestIndex::Entry*> directories(const std::vector<ManifestIndex::Entry>& entries, Keep keep) {
  std::vector<const ManifestIndex::Entry*> dirs;
  for (const auto& e : entries)
    if (e.file.type == EntryType::directory && keep(e.file.path)) dirs.push_back(&e);
  std::sort(dirs.begin(), dirs.end(), [](auto* a, auto* b) { return a->file.path < b->file.path; });
  return dirs;
}

}  // namespace

TargetDir::TargetDir(const RestoreOptions& options, const repo::SnapshotInfo& info,
                     const std::vector<ManifestIndex::Entry>& entries)
    : options_(options), info_(info), entries_(entries), path_(absolute(options.target_dir)) {}

void TargetDir::plan() {
  for (const auto& e : entries_) {
    if (e.file.type != EntryType::symlink) continue;
    const std::string& p = e.file.path;
    if (!p.starts_with("pg_tblspc/") || !all_digits(p.substr(10)))
      throw Error(ErrorKind::corrupt, "refusing symbolic link '" + p + "' in snapshot " + info_.id +
                                          " (links are only restored for tablespaces)");
    std::string oid = p.substr(10);
    std::string location = e.file.link_target;
    if (auto it = options_.tablespace_map.find(oid); it != options_.tablespace_map.end()) location = it->second;
    else if (auto it2 = options_.tablespace_map.find(location); it2 != options_.tablespace_map.end()) location = it2->second;
    check_location(info_.id, location);
    tablespaces_[oid] = location;
  }
  refuse_live_clusters();
  for (const auto& [oid, location] : tablespaces_) {
    struct stat st;
    if (lstat(location.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, "tablespace location is not a directory: " + location);
    if (empty_but_lock(location)) continue;
    const std::string hint = "map it elsewhere with --tablespace-map " + oid + "=DIR";
    if (!options_.delta)
      throw Error(ErrorKind::io, "refusing to restore tablespace " + oid + " into a non-empty directory: " + location,
                  hint);
    // Delta rewrites and prunes a location: only the one the target's own link names is the
    // target's; any other may hold another cluster's tablespace, running or not.
    if (resolved_path(path_ + "/pg_tblspc/" + oid) != resolved_path(location))
      throw Error(ErrorKind::io,
                  "refusing to restore tablespace " + oid + " into a non-empty directory: " + location +
                      " (the target's pg_tblspc/" + oid + " does not link there)",
                  hint);
  }
}

// Every directory this restore would write, checked against every cluster running on this host
// (restore/live_clusters.h) before anything is written, with or without --delta.
void TargetDir::refuse_live_clusters() {
  LiveClusterSearch search;
  search.directories = {options_.source_data_dir, path_};
  for (const auto& [oid, location] : tablespaces_) search.directories.push_back(location);
  std::vector<LiveCluster> live = find_live_clusters(search);
  for (const auto& [oid, location] : tablespaces_) refuse_live_location(live, oid, resolved_path(location));
  refuse_live_target(live, resolved_path(path_));
}

// Runs after plan(), which has kept the target off running clusters. The lock comes before the
// emptiness check, so that a second restore started alongside is told "locked", not "non-empty".
void TargetDir::prepare() {
  struct stat st;
  if (lstat(path_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, "restore target is not a directory: " + path_);
  } else {
    pgdr::make_directories(path_, 0700);
  }
  lock_.emplace(TargetLock::acquire(path_));
  if (!options_.delta && !empty_but_lock(path_))
    throw Error(ErrorKind::io, "refusing to restore into a non-empty directory: " + path_,
                "restore into an empty directory, or pass --delta to bring this one in line");
  if (options_.delta) {
    if (auto why = delta_refusal(path_, info_.system_identifier, lock_->unfinished_system_identifier()))
      throw Error(ErrorKind::io, "refusing --delta into a directory that is not this cluster's: " + path_ + " (" +
                                     *why + ")",
                  "--delta brings in line only an empty directory or a data directory of the snapshot's own "
                  "cluster (system identifier " + info_.system_identifier + "); restore into an empty directory");
  }
  lock_->mark_writing(info_.id, info_.system_identifier);
  if (options_.delta) {
    // Until the restore completes, the directory must not look startable.
    std::string control = path_ + "/" + std::string(kControlFile);
    if (unlink(control.c_str()) == 0) fsync_directory(control.substr(0, control.rfind('/')));
    else if (errno != ENOENT) throw_errno("unable to remove", control, errno);
  }
}

std::string TargetDir::destination(const std::string& path) const {
  if (path.starts_with("pg_tblspc/")) {
    std::size_t slash = path.find('/', 10);
    if (slash != std::string::npos) {
      auto it = tablespaces_.find(path.substr(10, slash - 10));
      if (it != tablespaces_.end()) return it->second + path.substr(slash);
      throw Error(ErrorKind::corrupt, "refusing '" + path + "' in snapshot " + info_.id + " (under no tablespace)");
    }
  }
  return path_ + "/" + path;
}

void TargetDir::make_directories() {
  auto outside_tablespaces = [](const std::string& p) {
    return !(p.starts_with("pg_tblspc/") && p.find('/', 10) != std::string::npos);
  };
  for (const auto* d : directories(entries_, outside_tablespaces)) mkdir_in_target(destination(d->file.path), d->file.mode);
}

void TargetDir::mkdir_in_target(const std::string& dir, std::uint32_t mode) {
  struct stat st;
  if (lstat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    if (!options_.delta) throw Error(ErrorKind::io, "unexpected file in the restore target: " + dir);
    if (unlink(dir.c_str()) != 0) throw_errno("unable to remove", dir, errno);
  }
  if (::mkdir(dir.c_str(), static_cast<mode_t>(mode & 0750)) != 0 && errno != EEXIST)
    throw_errno("unable to create directory", dir, errno);
  dirs_to_sync_.insert(dir);
  dirs_to_sync_.insert(dir.substr(0, dir.rfind('/')));
}

void TargetDir::make_tablespace_links() {
  for (const auto& [oid, location] : tablespaces_) {
    struct stat st;
    if (lstat(location.c_str(), &st) != 0) pgdr::make_directories(location, 0700);
    std::string link = path_ + "/pg_tblspc/" + oid;
    if (lstat(link.c_str(), &st) == 0) {
      if (!options_.delta) throw Error(ErrorKind::io, "unexpected file in the restore target: " + link);
      if (unlink(link.c_str()) != 0) throw_errno("unable to remove", link, errno);
    }
    if (symlink(location.c_str(), link.c_str()) != 0) throw_errno("unable to create link", link, errno);
    dirs_to_sync_.insert(path_ + "/pg_tblspc");
    const std::string prefix = "pg_tblspc/" + oid + "/";
    auto in_this_tablespace = [&](const std::string& p) { return p.starts_with(prefix); };
    for (const auto* d : directories(entries_, in_this_tablespace)) mkdir_in_target(destination(d->file.path), d->file.mode);
    dirs_to_sync_.insert(location);
  }
}

// Delta mode: whatever the snapshot does not hold goes, so recovery sees only the snapshot.
std::uint64_t TargetDir::remove_extras() {
  std::set<std::string> wanted;
  for (const auto& e : entries_) wanted.insert(destination(e.file.path));
  wanted.insert(path_ + "/" + std::string(TargetLock::kFileName));
  // In a tablespace location only this server version's directory is ours: another version's
  // data may share the location.
  std::vector<std::string> roots = {path_};
  for (const auto& e : entries_) {
    const std::string& p = e.file.path;
    if (e.file.type == EntryType::directory && p.starts_with("pg_tblspc/") && std::count(p.begin(), p.end(), '/') == 2)
      roots.push_back(destination(p));
  }
  std::uint64_t removed = 0;
  for (const auto& root : roots) removed += prune(root, wanted);
  return removed;
}

std::uint64_t TargetDir::prune(const std::string& dir, const std::set<std::string>& wanted) {
  DIR* d = opendir(dir.c_str());
  if (!d) throw_errno("unable to read directory", dir, errno);
  std::vector<std::string> names;
  while (struct dirent* de = readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::uint64_t removed = 0;
  for (const auto& n : names) {
    std::string p = dir + "/" + n;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;
    bool keep = wanted.count(p) > 0;
    if (keep && S_ISDIR(st.st_mode)) {
      removed += prune(p, wanted);
      continue;
    }
    if (keep) continue;
    remove_tree(p);
    ++removed;
    dirs_to_sync_.insert(dir);
  }
  return removed;
}

void TargetDir::sync_directories() {
  std::vector<std::string> dirs(dirs_to_sync_.begin(), dirs_to_sync_.end());
  for (const auto& e : entries_) {
    if (e.file.type != EntryType::file) continue;
    std::string d = destination(e.file.path);
    dirs.push_back(d.substr(0, d.rfind('/')));
  }
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  for (const auto& d : dirs) fsync_directory(d);
}

void TargetDir::finish() { lock_->finish(); }

}  // namespace pgdr::restore
