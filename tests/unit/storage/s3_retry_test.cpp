#include <gtest/gtest.h>

#include "core/error.h"
#include "storage/s3/multipart.h"
#include "storage/s3/retry.h"

namespace pgdr::storage::s3 {
namespace {

using std::chrono::milliseconds;

TEST(S3Retry, CapDoublesFromTheBaseUpToTheMaximum) {
  RetryPolicy p;
  p.base_delay = milliseconds(200);
  p.max_delay = milliseconds(10'000);
  EXPECT_EQ(p.delay_cap(1), milliseconds(200));
  EXPECT_EQ(p.delay_cap(2), milliseconds(400));
  EXPECT_EQ(p.delay_cap(3), milliseconds(800));
  EXPECT_EQ(p.delay_cap(6), milliseconds(6'400));
  EXPECT_EQ(p.delay_cap(7), milliseconds(10'000));
  // However many attempts: no overflow, still the cap.
  EXPECT_EQ(p.delay_cap(1'000'000), milliseconds(10'000));
}

TEST(S3Retry, FullJitterSpreadsOverTheWholeRange) {
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(1'000);
  std::mt19937_64 random(42);
  for (std::uint32_t attempt = 1; attempt <= 6; ++attempt) {
    const auto cap = p.delay_cap(attempt);
    milliseconds low = cap, high{0};
    double sum = 0;
    constexpr int kDraws = 4000;
    for (int i = 0; i < kDraws; ++i) {
      const milliseconds d = p.delay(attempt, random);
      ASSERT_GE(d.count(), 0);
      ASSERT_LE(d, cap);
      low = std::min(low, d);
      high = std::max(high, d);
      sum += static_cast<double>(d.count());
    }
    // Uniform over [0, cap]: draws reach both ends and average near the middle.
    EXPECT_LE(low.count(), cap.count() / 20) << attempt;
    EXPECT_GE(high.count(), cap.count() * 19 / 20) << attempt;
    EXPECT_NEAR(sum / kDraws, cap.count() / 2.0, cap.count() * 0.05) << attempt;
  }
}

TEST(S3Retry, OnlyTransientStatusesAreRetried) {
  for (long s : {500L, 502L, 503L, 504L, 429L}) EXPECT_TRUE(retryable_status(s)) << s;
  for (long s : {200L, 204L, 206L, 301L, 400L, 401L, 403L, 404L, 405L, 409L, 412L, 416L, 501L}) {
    EXPECT_FALSE(retryable_status(s)) << s;
  }
}

TEST(S3Multipart, ObjectsUpToOnePartAreOnePut) {
  MultipartPlan plan;
  EXPECT_EQ(plan.first_part_bytes, 8ull << 20);
  EXPECT_TRUE(plan.single_put(0));
  EXPECT_TRUE(plan.single_put(8ull << 20));
  EXPECT_FALSE(plan.single_put((8ull << 20) + 1));
  EXPECT_EQ(plan.part_count(0), 1u);
  EXPECT_EQ(plan.part_count(8ull << 20), 1u);
}

TEST(S3Multipart, PackSizedObjectsTakeTwoOrThreeParts) {
  MultipartPlan plan;
  EXPECT_EQ(plan.part_count((8ull << 20) + 1), 2u);
  EXPECT_EQ(plan.part_count(16ull << 20), 2u);
  // A pack a little over its 16 MiB target: the last part is small, as S3 allows.
  EXPECT_EQ(plan.part_count((16ull << 20) + 4096), 3u);
}

TEST(S3Multipart, PartsGrowSoHugeObjectsFitInTenThousand) {
  MultipartPlan plan;
  EXPECT_EQ(plan.part_size_bytes(1), 8ull << 20);
  EXPECT_EQ(plan.part_size_bytes(1000), 8ull << 20);
  EXPECT_EQ(plan.part_size_bytes(1001), 16ull << 20);
  EXPECT_EQ(plan.part_size_bytes(10'000), (8ull << 20) << 9);
  // S3 takes parts of 5 MiB to 5 GiB.
  for (std::uint32_t p = 1; p <= kMaxParts; ++p) {
    ASSERT_GE(plan.part_size_bytes(p), kMinPartBytes);
    ASSERT_LE(plan.part_size_bytes(p), 5ull << 30);
  }
  // Beyond S3's 5 TiB object limit, where fixed 8 MiB parts would stop at 80 GiB.
  EXPECT_GT(plan.max_object_bytes(), 5ull << 40);
  EXPECT_EQ(plan.part_count(plan.max_object_bytes()), kMaxParts);
  EXPECT_THROW(plan.part_count(plan.max_object_bytes() + 1), Error);
  EXPECT_THROW(plan.part_size_bytes(0), Error);
  EXPECT_THROW(plan.part_size_bytes(kMaxParts + 1), Error);
}

}  // namespace
}  // namespace pgdr::storage::s3
