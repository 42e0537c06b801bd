// How a drill report (JSON, see docs/reports/drill.md) is shown: a short summary for the terminal
// and a single self-contained HTML page (inline style, an SVG timeline of the phases, no script and
// nothing fetched from a network), and the trend of earlier drills from the local catalog.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"

namespace pgdr::drill {

std::string drill_summary(const nlohmann::json& report);
std::string drill_html(const nlohmann::json& report);

// {"drills": [{started_at, result, rto_seconds, rpo_seconds}...] oldest first, the current one last,
//  "rto_moving_average_seconds", "rpo_moving_average_seconds" over the last five}
nlohmann::json drill_trend(const std::vector<catalog::RunRecord>& earlier_newest_first, const nlohmann::json& current);

}  // namespace pgdr::drill
