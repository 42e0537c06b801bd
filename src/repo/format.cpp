#include "repo/format.h"

namespace pgdr::repo {

std::string pack_object(std::string_view pack_id) {
  std::string p(kPacksDir);
  p.append("/").append(pack_id.substr(0, 2)).append("/").append(pack_id);
  return p;
}

std::string snapshot_manifest_object(std::string_view snapshot_id) {
  return std::string(kSnapshotsDir) + "/" + std::string(snapshot_id) + ".manifest";
}

std::string snapshot_info_object(std::string_view snapshot_id) {
  return std::string(kSnapshotsDir) + "/" + std::string(snapshot_id) + ".info";
}

}  // namespace pgdr::repo
