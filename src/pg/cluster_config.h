// The [cluster] section: the PostgreSQL cluster pgdr protects.
#pragma once

#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct ClusterConfig {
  // "main" when [cluster] is there without a name; empty without [cluster], where verify takes the
  // snapshots of every cluster.
  std::string name;
  std::string pgdata;    // absolute path of the data directory
  std::string conninfo;  // libpq connection string (may carry a password: never print it raw)
  // initdb, pg_ctl and postgres of the cluster's major, for the servers pgdr starts; empty: found
  // by pg/binaries.h.
  std::string pg_bindir;
};

const ConfigSection<ClusterConfig>& cluster_section();

}  // namespace pgdr
