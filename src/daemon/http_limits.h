// The bounds the daemon's HTTP server puts on every client, so that slow, idle or greedy clients
// cannot take what /health and /metrics need. Two come from [daemon] (max_connections,
// request_timeout); the others are constants here, with their reasons.
#pragma once

#include <chrono>
#include <cstddef>

#include "daemon/daemon_config.h"

namespace pgdr::daemon {

struct HttpLimits {
  // Connections served at once, each by its own thread; one more is answered 503 and closed at
  // once, never queued. Well above what scrapers and a browser use (a few each).
  int max_connections = 128;
  // Time a client has to send one whole request (line, headers, body), counted from its
  // connection or from the end of the previous response on a kept-alive one: a client trickling
  // a header line every few seconds is dropped when it runs out, whatever cpp-httplib's per-read
  // timeout would allow. The keep-alive idle time is part of it.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
  // Time to write one whole response: a client that stops reading cannot hold its thread. The
  // largest page (the dashboard) is a few hundred KiB.
  std::chrono::milliseconds response_timeout{std::chrono::seconds(10)};
  // Requests on one connection before it is closed, so that one connection cannot stay forever.
  int keep_alive_max_requests = 100;
  // Bytes one request may send (line, headers, body): every page is a GET; 64 KiB is far above a
  // browser's headers and bounds what a client can make the server buffer.
  std::size_t max_request_bytes = 64 * 1024;
};

inline HttpLimits http_limits(const DaemonConfig& config) {
  HttpLimits l;
  l.max_connections = config.max_connections;
  l.request_timeout = config.request_timeout;
  return l;
}

}  // namespace pgdr::daemon
