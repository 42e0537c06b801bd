// Errors every Storage driver raises in the same words, so messages and tests do not depend on which
// driver holds the repository.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace pgdr::storage {

class Storage;

// Error(corrupt) "object truncated: <describe()>/<path> ends at N bytes, wanted M", for a read_range()
// reaching past the end of an object.
Error object_truncated(const Storage& storage, std::string_view path, std::uint64_t ends_at_bytes,
                       std::uint64_t wanted_bytes);

}  // namespace pgdr::storage
