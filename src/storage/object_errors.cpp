#include "storage/object_errors.h"

#include <string>

#include "storage/storage.h"

namespace pgdr::storage {

Error object_truncated(const Storage& storage, std::string_view path, std::uint64_t ends_at_bytes,
                       std::uint64_t wanted_bytes) {
  return Error(ErrorKind::corrupt, "object truncated: " + storage.describe() + "/" + std::string(path) +
                                       " ends at " + std::to_string(ends_at_bytes) + " bytes, wanted " +
                                       std::to_string(wanted_bytes));
}

}  // namespace pgdr::storage
