// Running PostgreSQL clusters on this host, found so that a restore never writes into one. Two
// sources, because either alone can miss one: postmaster.pid in the directories a caller names and
// in each of their parents (the snapshot's source, the target, each tablespace location), and the
// process table, where a postmaster's working directory is its data directory. "Running" means
// what PostgreSQL itself checks before it starts: postmaster.pid names a process that exists.
// Pure functions of the host's state at the call; safe to call from several threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgdr::restore {

struct LiveCluster {
  std::string data_dir;                  // resolved (core/path.h)
  long postmaster_pid = 0;
  std::vector<std::string> tablespaces;  // resolved locations its pg_tblspc links point to
};

// The pid in data_dir/postmaster.pid when that process exists; nullopt when the file is missing,
// unreadable or names no live process.
std::optional<long> live_postmaster_pid(const std::string& data_dir);

struct LiveClusterSearch {
  std::vector<std::string> directories;  // each, and each of its parents, checked for a live postmaster.pid
  std::string proc_root = "/proc";       // the process table to scan; empty: none
};

// Every running cluster found, each once.
std::vector<LiveCluster> find_live_clusters(const LiveClusterSearch& search);

// How path (resolved) meets cluster: it is or lies inside its data directory or one of its
// tablespace locations, or holds one of them. The text is the reason of a refusal, e.g. "inside the
// data directory /pg/main of the running cluster with postmaster pid 812"; nullopt when apart.
std::optional<std::string> live_overlap(const LiveCluster& cluster, const std::string& path);

}  // namespace pgdr::restore
