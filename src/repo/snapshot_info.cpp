#include "repo/snapshot_info.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/json_integer.h"
#include "core/log.h"
#include "core/time_format.h"
#include "io/kdf.h"
#include "repo/format.h"
#include "repo/sealed_stream.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kInfoSuffix = ".info";

nlohmann::json to_json(const SnapshotInfo& s) {
  nlohmann::json ts = nlohmann::json::array();
  for (const auto& t : s.tablespaces) ts.push_back({{"oid", t.oid}, {"location", t.location}});
  return {
      {"format", "pgdr-snapshot"}, {"version", kFormatVersion}, {"id", s.id}, {"cluster", s.cluster_name},
      {"system_identifier", s.system_identifier}, {"pg_version_num", s.pg_version_num}, {"timeline", s.timeline},
      {"start_lsn", s.start_lsn}, {"stop_lsn", s.stop_lsn}, {"start_time", s.start_time}, {"stop_time", s.stop_time},
      {"wal_segment_size", s.wal_segment_bytes}, {"first_wal_segment", s.first_wal_segment}, {"last_wal_segment", s.last_wal_segment},
      {"previous_snapshot", s.previous_snapshot}, {"block_size", s.block_bytes}, {"compression", s.compression},
      {"file_count", s.file_count}, {"logical_bytes", s.logical_bytes}, {"new_blocks", s.new_blocks},
      {"reused_blocks", s.reused_blocks}, {"zero_blocks", s.zero_blocks}, {"stored_bytes", s.stored_bytes},
      {"manifest_bytes", s.manifest_bytes}, {"packs", s.packs}, {"tablespaces", ts},
      {"checksum_failures", s.checksum_failures}, {"data_checksums", s.data_checksums},
      {"change_source", s.change_source}, {"change_reason", s.change_reason}, {"read_bytes", s.read_bytes},
      {"unread_blocks", s.unread_blocks},
      {"duration_seconds", s.duration_seconds}, {"pgdr_version", s.pgdr_version},
      {"taken_on", s.taken_on}, {"replay_lsn", s.replay_lsn},
  };
}

SnapshotInfo from_json(const nlohmann::json& j) {
  SnapshotInfo s;
  s.id = j.at("id");
  s.cluster_name = j.at("cluster");
  s.system_identifier = j.at("system_identifier");
  s.pg_version_num = integer_at<int>(j, "pg_version_num");
  s.timeline = integer_at<std::uint32_t>(j, "timeline");
  s.start_lsn = j.at("start_lsn");
  s.stop_lsn = j.at("stop_lsn");
  s.start_time = j.at("start_time");
  s.stop_time = j.at("stop_time");
  s.wal_segment_bytes = j.contains("wal_segment_size") ? integer_at<std::uint64_t>(j, "wal_segment_size") : 0;
  s.first_wal_segment = j.at("first_wal_segment");
  s.last_wal_segment = j.at("last_wal_segment");
  s.previous_snapshot = j.at("previous_snapshot");
  s.block_bytes = integer_at<std::uint32_t>(j, "block_size");
  s.compression = j.at("compression");
  s.file_count = integer_at<std::uint64_t>(j, "file_count");
  s.logical_bytes = integer_at<std::uint64_t>(j, "logical_bytes");
  s.new_blocks = integer_at<std::uint64_t>(j, "new_blocks");
  s.reused_blocks = integer_at<std::uint64_t>(j, "reused_blocks");
  s.zero_blocks = integer_at<std::uint64_t>(j, "zero_blocks");
  s.stored_bytes = integer_at<std::uint64_t>(j, "stored_bytes");
  s.manifest_bytes = integer_at<std::uint64_t>(j, "manifest_bytes");
  s.packs = j.at("packs").get<std::vector<std::string>>();
  for (const auto& t : j.at("tablespaces")) s.tablespaces.push_back({t.at("oid"), t.at("location")});
  s.checksum_failures = integer_at<std::uint64_t>(j, "checksum_failures");
  s.data_checksums = j.at("data_checksums");
  s.duration_seconds = j.at("duration_seconds");
  s.pgdr_version = j.at("pgdr_version");
  // Absent from snapshots written before change maps: they read every byte.
  if (j.contains("change_source")) {
    s.change_source = j.at("change_source");
    s.change_reason = j.at("change_reason");
    s.read_bytes = integer_at<std::uint64_t>(j, "read_bytes");
    s.unread_blocks = integer_at<std::uint64_t>(j, "unread_blocks");
  } else {
    s.read_bytes = s.logical_bytes;
  }
  // Absent from snapshots written before backups from a standby: they were taken on a primary.
  if (j.contains("taken_on")) {
    s.taken_on = j.at("taken_on");
    s.replay_lsn = j.at("replay_lsn");
  }
  return s;
}

SnapshotInfo read_info(const storage::Storage& store, const MasterKey& key, const std::string& id) {
  std::string object = snapshot_info_object(id);
  auto raw = read_sealed_object(store, object, key);
  if (!raw) throw Error(ErrorKind::not_found, "snapshot " + id + " not found in " + store.describe());
  try {
    auto j = nlohmann::json::parse(raw->begin(), raw->end());
    if (j.at("format") != "pgdr-snapshot")
      throw Error(ErrorKind::corrupt, "corrupt object " + object + " in " + store.describe() + " (not a snapshot info)");
    int version = integer_at<int>(j, "version");
    if (version != kFormatVersion)
      throw Error(ErrorKind::corrupt, "snapshot " + id + " in " + store.describe() + " has format version " +
                                          std::to_string(version) + ", this pgdr reads version " +
                                          std::to_string(kFormatVersion));
    SnapshotInfo s = from_json(j);
    if (s.id != id) throw Error(ErrorKind::corrupt, "corrupt object " + object + " in " + store.describe() + " (names another snapshot)");
    return s;
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorKind::corrupt, "corrupt object " + object + " in " + store.describe() + " (unreadable JSON)");
  }
}

}  // namespace

std::string new_snapshot_id() {
  // Milliseconds keep ids in time order for snapshots taken within one second (the writer lock
  // serialises backups); the random suffix keeps ids unique across hosts.
  auto now = wall_now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string stamp = compact_utc(now);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
  stamp.insert(stamp.size() - 1, frac);
  return stamp + "-" + to_hex(io::random_bytes(2));
}

void write_snapshot_info(storage::Storage& store, const MasterKey& key, const SnapshotInfo& info) {
  std::string text = to_json(info).dump();
  write_sealed_object(store, snapshot_info_object(info.id), key, as_bytes(text));
}

namespace {

std::vector<std::string> snapshot_ids(const storage::Storage& store) {
  std::vector<std::string> ids;
  for (const auto& obj : store.list(kSnapshotsDir)) {
    std::string_view name = std::string_view(obj.path).substr(kSnapshotsDir.size() + 1);
    if (name.size() > kInfoSuffix.size() && name.ends_with(kInfoSuffix))
      ids.emplace_back(name.substr(0, name.size() - kInfoSuffix.size()));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

std::optional<SnapshotInfo> newest_snapshot_of(const storage::Storage& store, const MasterKey& key,
                                               const std::string& cluster_name) {
  auto ids = snapshot_ids(store);
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    try {
      SnapshotInfo s = read_info(store, key, *it);
      if (cluster_name.empty() || s.cluster_name == cluster_name) return s;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
    }
  }
  return std::nullopt;
}

std::vector<SnapshotInfo> list_snapshots(const storage::Storage& store, const MasterKey& key,
                                         std::vector<std::string>* damaged) {
  std::vector<std::string> ids = snapshot_ids(store);
  std::vector<SnapshotInfo> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    try {
      out.push_back(read_info(store, key, id));
    } catch (const Error& e) {
      if (!damaged || e.kind() != ErrorKind::corrupt) throw;
      damaged->push_back(e.what());
    }
  }
  return out;
}

SnapshotInfo find_snapshot(const storage::Storage& store, const MasterKey& key, const std::string& id) {
  if (id == "latest" || id.empty()) {
    std::vector<std::string> damaged;
    auto all = list_snapshots(store, key, &damaged);
    for (const auto& d : damaged) log_warning(d + " (left out when choosing the latest snapshot)");
    if (all.empty()) throw Error(ErrorKind::not_found, "no snapshot in " + store.describe(), "take one with 'pgdr backup'");
    return all.back();
  }
  if (id.find('/') != std::string::npos || id.find("..") != std::string::npos)
    throw Error(ErrorKind::usage, "invalid snapshot id '" + id + "'");
  return read_info(store, key, id);
}

}  // namespace pgdr::repo
