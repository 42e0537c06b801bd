// How the S3 driver cuts an object into the parts of a multipart upload. A writer does not know the
// size of what it writes, so parts are cut as the bytes come: part n has part_size_bytes(n) bytes,
// the last one what is left. S3 wants every part but the last to hold at least 5 MiB and allows
// 10,000 parts; the size doubles every 1,000 parts so that objects far larger than any pack still
// fit (8 MiB parts alone would stop at 80 GiB). An object no larger than the first part is sent in
// one PUT instead: one request, and it is as atomic as CompleteMultipartUpload.
//
// Why 8 MiB: a 16 MiB pack goes up as two parts sent in parallel, which halves its upload time on a
// link where one TCP stream is the bottleneck, while smaller objects (manifests, compressed WAL
// segments, indexes) stay single requests. Pure functions, any thread.
#pragma once

#include <cstdint>

namespace pgdr::storage::s3 {

inline constexpr std::uint64_t kMinPartBytes = 5ull << 20;  // S3's minimum for all parts but the last
inline constexpr std::uint32_t kMaxParts = 10'000;

struct MultipartPlan {
  std::uint64_t first_part_bytes = 8ull << 20;
  std::uint32_t parts_per_doubling = 1'000;
  std::uint32_t max_parts_in_flight = 4;  // per writer: bounds memory to this many parts

  // Size of part number part (1-based). Throws Error(internal) past kMaxParts.
  std::uint64_t part_size_bytes(std::uint32_t part) const;
  // Whether an object of total bytes is sent with one PUT (total <= first part).
  bool single_put(std::uint64_t total_bytes) const { return total_bytes <= first_part_bytes; }
  // How many parts an object of total bytes takes (1 for a single PUT).
  std::uint32_t part_count(std::uint64_t total_bytes) const;
  // The largest object the plan can upload.
  std::uint64_t max_object_bytes() const;
};

}  // namespace pgdr::storage::s3
