// Retired packs. Repacking copies the frames kept snapshots still need out of a pack and points
// their manifests at the copies; the old pack is then garbage, but a restore or verify that read a
// manifest before the switch may still be reading it (readers take no lock). So the old pack stays
// for a grace period, and the sealed marker retired/<pack id> records since when: an expire removes
// the pack once the grace has passed and no kept manifest declares it, then the marker.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/time_format.h"
#include "repo/keys.h"
#include "storage/storage.h"

namespace pgdr::repo {

inline constexpr std::string_view kRetiredDir = "retired";

struct RetiredPack {
  std::string pack_id;
  SystemTime retired_at;
  std::vector<std::string> replaced_by;  // the packs its live frames were copied into
};

// "retired/<pack id>".
std::string retired_object(std::string_view pack_id);

void write_retired_marker(storage::Storage& store, const MasterKey& key, const RetiredPack& marker);

struct RetiredListing {
  std::vector<RetiredPack> markers;       // sorted by pack id
  std::vector<std::string> damaged;       // "corrupt object retired/...: why", one per unreadable marker
  std::vector<std::string> damaged_objects;  // their object names
};
// Every marker under retired/. A marker that cannot be read is reported, not thrown: it only
// delays the removal of a pack that is garbage anyway.
RetiredListing list_retired(const storage::Storage& store, const MasterKey& key);

}  // namespace pgdr::repo
