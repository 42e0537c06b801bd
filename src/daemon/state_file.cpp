#include "daemon/state_file.h"

#include <nlohmann/json.hpp>

#include "core/file.h"

namespace pgdr::daemon {

using nlohmann::json;

StateFile::StateFile(std::string path) : path_(std::move(path)) {
  auto bytes = read_file(path_);
  if (!bytes) return;
  try {
    json j = json::parse(as_chars(*bytes));
    if (j.is_object() && j.contains("last_started") && j["last_started"].is_object()) {
      const json& started = j["last_started"];
      for (auto it = started.begin(); it != started.end(); ++it)
        if (it.value().is_string())
          if (auto t = parse_iso8601(it.value().get<std::string>())) last_started_[it.key()] = *t;
    }
  } catch (const std::exception&) {
    // A damaged state file costs one catch-up decision, nothing more: start as if new.
  }
}

std::optional<SystemTime> StateFile::last_started(const std::string& job) const {
  auto it = last_started_.find(job);
  return it == last_started_.end() ? std::nullopt : std::optional(it->second);
}

void StateFile::set_started(const std::string& job, SystemTime t) {
  last_started_[job] = t;
  json j;
  for (const auto& [k, v] : last_started_) j["last_started"][k] = iso8601_ms(v);
  std::string text = j.dump(2) + "\n";
  make_directories(parent_directory(path_), 0700);
  write_file_durably(path_, as_bytes(text), 0600);
}

}  // namespace pgdr::daemon
