#include "core/clock.h"

#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.h"

namespace pgdr {

namespace {

struct TestClock {
  std::optional<SystemTime> start;  // the PGDR_TEST_NOW time
  std::chrono::steady_clock::time_point began;
};

const TestClock& test_clock() {
  static const TestClock clock = [] {
    TestClock c;
    c.began = std::chrono::steady_clock::now();
    const char* text = std::getenv("PGDR_TEST_NOW");
    if (text && *text) {
      c.start = parse_iso8601(text);
      if (!c.start)
        throw Error(ErrorKind::config, std::string("invalid PGDR_TEST_NOW '") + text + "' (not an ISO-8601 UTC time)");
    }
    return c;
  }();
  return clock;
}

}  // namespace

SystemTime wall_now() {
  const TestClock& c = test_clock();
  if (!c.start) return std::chrono::system_clock::now();
  return *c.start + std::chrono::duration_cast<SystemTime::duration>(std::chrono::steady_clock::now() - c.began);
}

}  // namespace pgdr
