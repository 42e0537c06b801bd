// The [stream] section: how `pgdr wal-stream` receives WAL over the replication protocol.
#pragma once

#include <chrono>
#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct StreamConfig {
  std::string conninfo;          // where to stream from; empty: [cluster] conninfo
  std::string slot;              // physical replication slot; empty: pgdr_<cluster name>
  std::string application_name = "pgdr_wal_stream";  // for synchronous_standby_names
  std::chrono::milliseconds status_interval{std::chrono::seconds(10)};  // status updates at least this often
  std::chrono::milliseconds flush_interval{std::chrono::seconds(1)};    // without --synchronous
  std::chrono::milliseconds retry_max{std::chrono::seconds(30)};        // longest wait between reconnects
};

const ConfigSection<StreamConfig>& stream_section();

}  // namespace pgdr
