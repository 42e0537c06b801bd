#include "storage/s3/multipart.h"

#include <string>

#include "core/error.h"

namespace pgdr::storage::s3 {

std::uint64_t MultipartPlan::part_size_bytes(std::uint32_t part) const {
  if (part == 0 || part > kMaxParts)
    throw Error(ErrorKind::internal, "multipart part number " + std::to_string(part) + " is out of 1.." +
                                         std::to_string(kMaxParts));
  const std::uint32_t doublings = (part - 1) / parts_per_doubling;
  return first_part_bytes << doublings;
}

std::uint32_t MultipartPlan::part_count(std::uint64_t total_bytes) const {
  if (single_put(total_bytes)) return 1;
  std::uint32_t part = 1;
  std::uint64_t left = total_bytes;
  // A part is cut only while more than its size is left, so the last part is never empty.
  while (left > part_size_bytes(part)) {
    left -= part_size_bytes(part);
    ++part;
    if (part > kMaxParts)
      throw Error(ErrorKind::io, "object of " + std::to_string(total_bytes) + " bytes exceeds the s3 multipart limit");
  }
  return part;
}

std::uint64_t MultipartPlan::max_object_bytes() const {
  std::uint64_t total = 0;
  for (std::uint32_t p = 1; p <= kMaxParts; ++p) total += part_size_bytes(p);
  return total;
}

}  // namespace pgdr::storage::s3
