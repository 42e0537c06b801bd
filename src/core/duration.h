// Durations as the configuration writes them: "4h", "15m", "30s", "1h30m", "2d", "500ms".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace pgdr {

// Throws Error(config) "invalid duration '<text>' (...)" when text is not a duration.
std::chrono::milliseconds parse_duration(std::string_view text);
// The shortest exact form, e.g. 5400s -> "1h30m".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace pgdr
