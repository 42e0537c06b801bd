// Integers read from JSON that pgdr did not necessarily write (manifests, snapshot info, key slots,
// pgdr.repo, WAL object headers): nlohmann's get<T>() converts any number with a cast, which is
// undefined behaviour for a float beyond T (1e30 read as a block count) and silent truncation for
// an integer beyond it (4294975488 read as a uint32_t block size of 8192).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace pgdr {

// j.at(key) as T when it is an integer that T holds. Throws nlohmann::json::out_of_range when key
// is missing and nlohmann::json::type_error otherwise, the exceptions the readers already turn
// into "corrupt" messages naming the object.
template <typename T>
T integer_at(const nlohmann::json& j, const std::string& key) {
  const nlohmann::json& v = j.at(key);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (std::in_range<T>(i)) return static_cast<T>(i);
  }
  throw nlohmann::json::type_error::create(302, "'" + key + "' is not an integer in range", &v);
}

}  // namespace pgdr
