// Durations as the configuration writes them: "4h", "15m", "30s", "1h30m", "2d", "500ms"; and
// measured durations as every report, log line, health reason and the dashboard show them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace pgdr {

// Throws Error(config) "invalid duration '<text>' (...)" when text is not a duration.
std::chrono::milliseconds parse_duration(std::string_view text);
// The shortest exact form, e.g. 5400s -> "1h30m".
std::string format_duration(std::chrono::milliseconds d);
// A measured duration for people, one style everywhere: a number with at most one decimal (".0"
// dropped) and a spaced unit, the unit chosen so the number stays readable: seconds below two
// minutes ("61.8 s"), then minutes below an hour ("12.5 min"), hours below two days ("1 h",
// "36.2 h"), then days ("3 d"). Negative values keep their sign; NaN gives "unknown".
std::string format_seconds(double seconds);

}  // namespace pgdr
