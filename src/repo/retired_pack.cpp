#include "repo/retired_pack.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_integer.h"
#include "repo/format.h"
#include "repo/sealed_stream.h"

namespace pgdr::repo {

namespace {

bool is_pack_id(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

RetiredPack read_marker(const storage::Storage& store, const MasterKey& key, const std::string& object,
                        const std::string& pack_id) {
  auto bad = [&](const std::string& why) -> RetiredPack {
    throw Error(ErrorKind::corrupt, "corrupt object " + object + " in " + store.describe() + " (" + why + ")");
  };
  auto raw = read_sealed_object(store, object, key);
  if (!raw) throw Error(ErrorKind::not_found, "missing object " + object + " in " + store.describe());
  try {
    auto j = nlohmann::json::parse(raw->begin(), raw->end());
    if (j.at("format") != "pgdr-retired-pack") return bad("not a retired-pack marker");
    if (integer_at<int>(j, "version") != kFormatVersion) return bad("unknown version");
    RetiredPack m;
    m.pack_id = j.at("pack").get<std::string>();
    if (m.pack_id != pack_id) return bad("names another pack");
    auto at = parse_iso8601(j.at("retired_at").get<std::string>());
    if (!at) return bad("unreadable retired_at");
    m.retired_at = *at;
    m.replaced_by = j.at("replaced_by").get<std::vector<std::string>>();
    return m;
  } catch (const nlohmann::json::exception&) {
    return bad("unreadable JSON");
  }
}

}  // namespace

std::string retired_object(std::string_view pack_id) {
  return std::string(kRetiredDir) + "/" + std::string(pack_id);
}

void write_retired_marker(storage::Storage& store, const MasterKey& key, const RetiredPack& marker) {
  nlohmann::json j = {{"format", "pgdr-retired-pack"},
                      {"version", kFormatVersion},
                      {"pack", marker.pack_id},
                      {"retired_at", iso8601_ms(marker.retired_at)},
                      {"replaced_by", marker.replaced_by}};
  write_sealed_object(store, retired_object(marker.pack_id), key, as_bytes(j.dump()));
}

RetiredListing list_retired(const storage::Storage& store, const MasterKey& key) {
  RetiredListing out;
  std::vector<std::string> objects;
  for (const auto& o : store.list(kRetiredDir)) objects.push_back(o.path);
  std::sort(objects.begin(), objects.end());
  for (const auto& object : objects) {
    std::string id = object.substr(kRetiredDir.size() + 1);
    // Names that are not pack ids were not written by pgdr; they name no pack to remove.
    if (!is_pack_id(id)) continue;
    try {
      out.markers.push_back(read_marker(store, key, object, id));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt && e.kind() != ErrorKind::not_found) throw;
      out.damaged.push_back(e.what());
      out.damaged_objects.push_back(object);
    }
  }
  return out;
}

}  // namespace pgdr::repo
