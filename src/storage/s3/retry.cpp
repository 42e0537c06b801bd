#include "storage/s3/retry.h"

#include <algorithm>

namespace pgdr::storage::s3 {

std::chrono::milliseconds RetryPolicy::delay_cap(std::uint32_t attempt) const {
  if (attempt == 0) attempt = 1;
  const std::int64_t base = std::max<std::int64_t>(base_delay.count(), 0);
  const std::int64_t cap = std::max<std::int64_t>(max_delay.count(), 0);
  // Doubling stops at the cap, so the shift never overflows however many attempts are allowed.
  std::int64_t d = base;
  for (std::uint32_t i = 1; i < attempt && d < cap; ++i) d *= 2;
  return std::chrono::milliseconds(std::min(d, cap));
}

std::chrono::milliseconds RetryPolicy::delay(std::uint32_t attempt, std::mt19937_64& random) const {
  const std::int64_t cap = delay_cap(attempt).count();
  std::uniform_int_distribution<std::int64_t> pick(0, cap);
  return std::chrono::milliseconds(pick(random));
}

bool retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace pgdr::storage::s3
