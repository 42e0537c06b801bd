// Wall-clock times as pgdr writes them: ISO-8601 UTC with a 'Z', to the millisecond where it matters.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pgdr {

using SystemTime = std::chrono::system_clock::time_point;

// "2026-11-25T23:30:15Z"
std::string iso8601(SystemTime t);
// "2026-11-25T23:30:15.123Z"
std::string iso8601_ms(SystemTime t);
std::string now_iso8601();
// Parses what iso8601/iso8601_ms write (and "+00:00" for "Z"); nullopt otherwise.
std::optional<SystemTime> parse_iso8601(std::string_view text);
// "20261125T233015Z": sortable and safe in object names.
std::string compact_utc(SystemTime t);

}  // namespace pgdr
