// The dashboard: one self-contained HTML page (inline style and SVG, no script, nothing fetched from
// a network, readable on a phone) of a Status: health, the newest snapshot of each repository,
// the newest verify of each repository, the snapshot coverage heat map (one row per UTC day, one cell per hour; an hour without a
// snapshot is drawn as missing), the RTO and RPO trends against their objectives, and the latest
// results linking to their reports. `pgdr daemon` serves it at /, `pgdr report --html` writes it.
#pragma once

#include <functional>
#include <string>

#include "config/config.h"
#include "daemon/status.h"

namespace pgdr::daemon {

// report_link(id) is the address of run id's report (e.g. "/reports/42").
std::string dashboard_html(const Config& config, const Status& status,
                           const std::function<std::string(std::int64_t)>& report_link);

}  // namespace pgdr::daemon
