// [schedule] entries of `pgdr daemon` (daemon/cron.cpp): parsed, then asked for their next firing
// times the way the scheduler asks, from a few fixed instants.
#include "daemon/cron.h"
#include "fuzz_support.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_errors({ErrorKind::config}, [&] {
    auto s = daemon::Schedule::parse(text);
    for (std::int64_t at : {0LL, 1700000000LL, 4102444799LL}) {
      const SystemTime t = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(at));
      const SystemTime next = s.next_after(t);
      fuzz::require(next > t, "the next firing is after the instant asked about");
      fuzz::require(s.period_near(t).count() >= 0, "a period is not negative");
    }
  });
  return 0;
}
