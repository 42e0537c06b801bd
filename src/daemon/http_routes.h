// The HTTP endpoints of `pgdr daemon`: /metrics, /health, the dashboard at / and the stored reports
// at /reports/<id>, behind the optional bearer token (http_auth.h). Registered on the daemon's
// HttpServer, and on a server that the fuzz target feeds raw requests. The handlers run on the
// server's connection threads: status() and http_stats() must be safe to call from any of them.
#pragma once

#include <functional>

#include "config/config.h"
#include "daemon/http_auth.h"
#include "daemon/status.h"

namespace httplib {
class Server;
}

namespace pgdr::daemon {

// token: the required bearer token, nullptr for none; it must outlive the server. status gathers
// what the pages show; http_stats gives the server's own counts for /metrics. Reports are read
// from the catalog of config.
void add_http_routes(httplib::Server& http, const Config& config, const BearerToken* token,
                     std::function<Status()> status, std::function<HttpStats()> http_stats);

}  // namespace pgdr::daemon
