// RetryPolicy: how often and how long the S3 driver waits before repeating a request that failed in a
// way a repeat can cure (a dropped connection, a timeout, a 5xx answer, throttling), and which
// failures those are. Exponential backoff with full jitter: before attempt n+1 the driver sleeps a
// uniformly random time in [0, min(max_delay, base_delay * 2^(n-1))], which spreads the retries of
// many clients instead of having them all return at once (AWS Architecture Blog, "Exponential
// Backoff And Jitter"). Values only: no state, any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace pgdr::storage::s3 {

struct RetryPolicy {
  std::uint32_t max_attempts = 5;  // including the first; 1 disables retries
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{10'000};

  // The upper bound of the sleep after failed attempt number `attempt` (1-based):
  // min(max_delay, base_delay * 2^(attempt-1)).
  std::chrono::milliseconds delay_cap(std::uint32_t attempt) const;
  // A full-jitter sleep for failed attempt `attempt`: uniform in [0, delay_cap(attempt)].
  std::chrono::milliseconds delay(std::uint32_t attempt, std::mt19937_64& random) const;
};

// HTTP statuses worth a repeat: 500, 502, 503 (incl. SlowDown), 504, and 429 (throttling). A 409 is
// retried only where the caller says so (a conditional write that raced another, which S3 answers
// with 409 ConditionalRequestConflict and asks to repeat). Every other 4xx is final.
bool retryable_status(long status);

}  // namespace pgdr::storage::s3
