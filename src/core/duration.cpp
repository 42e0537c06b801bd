#include "core/duration.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdint>

#include "core/error.h"

namespace pgdr {

namespace {

// Every duration is added to or taken from wall-clock times, which std::chrono::system_clock
// holds in nanoseconds: about 292 years either side of 1970. A hundred years keeps "now" plus or
// minus any duration inside that range, and the sum below from overflowing.
constexpr std::int64_t kMaxDurationMs = 100LL * 365 * 86'400'000;

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text) {
  auto bad = [&](const char* why) -> std::chrono::milliseconds {
    throw Error(ErrorKind::config, "invalid duration '" + std::string(text) + "' (" + why + ")",
                "write a number with a unit: 500ms, 30s, 15m, 4h, 7d, or combined as 1h30m");
  };
  if (text.empty()) return bad("empty");
  std::int64_t total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return bad("expected a number");
    std::int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return bad("too large");
      ++i;
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    std::int64_t ms;
    if (unit == "ms") ms = 1;
    else if (unit == "s") ms = 1000;
    else if (unit == "m" || unit == "min") ms = 60'000;
    else if (unit == "h") ms = 3'600'000;
    else if (unit == "d") ms = 86'400'000;
    else if (unit == "w") ms = 7 * 86'400'000LL;
    else return bad(unit.empty() ? "missing unit" : "unknown unit");
    if (n * ms > kMaxDurationMs - total_ms) return bad("too large: at most 100 years");
    total_ms += n * ms;
  }
  return std::chrono::milliseconds(total_ms);
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  static constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (auto [size, name] : kUnits) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

std::string format_seconds(double seconds) {
  if (std::isnan(seconds)) return "unknown";
  const double a = std::fabs(seconds);
  double v = a;
  const char* unit = "s";
  // The thresholds keep a number of at most three digits before the point in each unit, and a
  // value near a whole unit ("3600 s") reads as that unit ("1 h").
  if (a >= 2 * 86'400.0) {
    v = a / 86'400;
    unit = "d";
  } else if (a >= 3'600 - 0.05 * 60) {
    v = a / 3'600;
    unit = "h";
  } else if (a >= 120) {
    v = a / 60;
    unit = "min";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string number = buf;
  if (number.size() > 2 && number.compare(number.size() - 2, 2, ".0") == 0) number.resize(number.size() - 2);
  return (seconds < 0 && number != "0" ? "-" : "") + number + " " + unit;
}

}  // namespace pgdr
