// Reading reports that may be partial (an interrupted drill, a report from an older pgdr): the
// const operator[] of nlohmann::json asserts on a missing key, so renderers read through field().
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pgdr {

// j[key] when j is an object holding key, else a null value.
inline const nlohmann::json& field(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json null_value;
  if (!j.is_object()) return null_value;
  auto it = j.find(key);
  return it == j.end() ? null_value : *it;
}

// j[key] as text, or fallback when absent or not a string.
inline std::string text(const nlohmann::json& j, std::string_view key, const std::string& fallback = {}) {
  const nlohmann::json& v = field(j, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

// j[key] as a number, or fallback when absent or not a number.
inline double number(const nlohmann::json& j, std::string_view key, double fallback = 0) {
  const nlohmann::json& v = field(j, key);
  return v.is_number() ? v.get<double>() : fallback;
}

}  // namespace pgdr
