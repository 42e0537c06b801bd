#include "repo/snapshot_info.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "repo/format.h"
#include "repo/sealed_stream.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::error_of;

SnapshotInfo sample(const std::string& id) {
  SnapshotInfo s;
  s.id = id;
  s.cluster_name = "main";
  s.system_identifier = "7301234567890123456";
  s.pg_version_num = 150004;
  s.timeline = 3;
  s.start_lsn = "0/5000028";
  s.stop_lsn = "0/5000100";
  s.start_time = "2026-01-01T00:00:00.123Z";
  s.stop_time = "2026-01-01T00:01:00.456Z";
  s.first_wal_segment = "000000030000000000000005";
  s.last_wal_segment = "000000030000000000000005";
  s.previous_snapshot = "20251231T000000.000Z-0000";
  s.block_bytes = 8192;
  s.compression = "zstd";
  s.file_count = 1234;
  s.logical_bytes = 40ull << 30;  // beyond 32 bits
  s.new_blocks = 10;
  s.reused_blocks = 20;
  s.zero_blocks = 30;
  s.stored_bytes = 5000000000ull;
  s.manifest_bytes = 4096;
  s.packs = {"00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100"};
  s.tablespaces = {{"16400", "/srv/fast"}, {"16401", "/srv/slow space"}};
  s.checksum_failures = 2;
  s.data_checksums = true;
  s.duration_seconds = 61.5;
  s.pgdr_version = "0.1.0";
  return s;
}

void expect_same(const SnapshotInfo& a, const SnapshotInfo& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.cluster_name, b.cluster_name);
  EXPECT_EQ(a.system_identifier, b.system_identifier);
  EXPECT_EQ(a.pg_version_num, b.pg_version_num);
  EXPECT_EQ(a.timeline, b.timeline);
  EXPECT_EQ(a.start_lsn, b.start_lsn);
  EXPECT_EQ(a.stop_lsn, b.stop_lsn);
  EXPECT_EQ(a.start_time, b.start_time);
  EXPECT_EQ(a.stop_time, b.stop_time);
  EXPECT_EQ(a.first_wal_segment, b.first_wal_segment);
  EXPECT_EQ(a.last_wal_segment, b.last_wal_segment);
  EXPECT_EQ(a.previous_snapshot, b.previous_snapshot);
  EXPECT_EQ(a.block_bytes, b.block_bytes);
  EXPECT_EQ(a.compression, b.compression);
  EXPECT_EQ(a.file_count, b.file_count);
  EXPECT_EQ(a.logical_bytes, b.logical_bytes);
  EXPECT_EQ(a.new_blocks, b.new_blocks);
  EXPECT_EQ(a.reused_blocks, b.reused_blocks);
  EXPECT_EQ(a.zero_blocks, b.zero_blocks);
  EXPECT_EQ(a.stored_bytes, b.stored_bytes);
  EXPECT_EQ(a.manifest_bytes, b.manifest_bytes);
  EXPECT_EQ(a.packs, b.packs);
  ASSERT_EQ(a.tablespaces.size(), b.tablespaces.size());
  for (std::size_t i = 0; i < a.tablespaces.size(); ++i) {
    EXPECT_EQ(a.tablespaces[i].oid, b.tablespaces[i].oid);
    EXPECT_EQ(a.tablespaces[i].location, b.tablespaces[i].location);
  }
  EXPECT_EQ(a.checksum_failures, b.checksum_failures);
  EXPECT_EQ(a.data_checksums, b.data_checksums);
  EXPECT_EQ(a.duration_seconds, b.duration_seconds);
  EXPECT_EQ(a.pgdr_version, b.pgdr_version);
  EXPECT_EQ(a.taken_on, b.taken_on);
  EXPECT_EQ(a.replay_lsn, b.replay_lsn);
}

class SnapshotInfoTest : public test::RepoTestBase {
 protected:
  // The JSON a stored info object holds, decrypted.
  nlohmann::json stored_json(const std::string& id) {
    auto b = read_sealed_object(store_, snapshot_info_object(id), key_);
    EXPECT_TRUE(b.has_value());
    return b ? nlohmann::json::parse(b->begin(), b->end()) : nlohmann::json{};
  }
  // Seals text under the info object name of id, as a writer holding the key would.
  void seal_info(const std::string& id, const std::string& text) {
    write_sealed_object(store_, snapshot_info_object(id), key_, as_bytes(text));
  }
  void expect_error(const std::string& id, ErrorKind kind, const std::string& message) {
    Error e = error_of([&] { find_snapshot(store_, key_, id); });
    EXPECT_EQ(e.kind(), kind);
    EXPECT_EQ(std::string(e.what()), message);
  }
};

TEST_F(SnapshotInfoTest, WriteAndFindRoundTrip) {
  SnapshotInfo s = sample("20260101T000000.000Z-0a0b");
  write_snapshot_info(store_, key_, s);
  ASSERT_TRUE(store_.stat("snapshots/20260101T000000.000Z-0a0b.info").has_value());
  expect_same(find_snapshot(store_, key_, s.id), s);

  // Sealed: neither the cluster name nor a location is readable in the stored bytes.
  std::string stored(as_chars(raw(snapshot_info_object(s.id))));
  EXPECT_EQ(stored.find("/srv/fast"), std::string::npos);
  EXPECT_EQ(stored.find("7301234567890123456"), std::string::npos);
  EXPECT_EQ(stored_json(s.id).at("format"), "pgdr-snapshot");
  EXPECT_EQ(stored_json(s.id).at("version"), 1);
}

TEST_F(SnapshotInfoTest, StandbySnapshotKeepsWhereItWasTaken) {
  SnapshotInfo s = sample("20260101T000000.000Z-5b5b");
  s.taken_on = kTakenOnStandby;
  s.replay_lsn = s.stop_lsn;
  write_snapshot_info(store_, key_, s);
  expect_same(find_snapshot(store_, key_, s.id), s);
  EXPECT_EQ(stored_json(s.id).at("taken_on"), "standby");
  EXPECT_EQ(stored_json(s.id).at("replay_lsn"), "0/5000100");
}

TEST_F(SnapshotInfoTest, InfoWrittenBeforeStandbyBackupsWasTakenOnAPrimary) {
  SnapshotInfo s = sample("20260101T000000.000Z-0101");
  write_snapshot_info(store_, key_, s);
  nlohmann::json j = stored_json(s.id);
  j.erase("taken_on");
  j.erase("replay_lsn");
  seal_info(s.id, j.dump());
  SnapshotInfo read = find_snapshot(store_, key_, s.id);
  EXPECT_EQ(read.taken_on, "primary");
  EXPECT_EQ(read.replay_lsn, "");
  expect_same(read, s);
}

TEST_F(SnapshotInfoTest, ListIsOldestFirstAndLatestPicksTheNewest) {
  const std::vector<std::string> ids = {"20260103T000000.000Z-0003", "20260101T000000.000Z-0001",
                                        "20260102T120000.500Z-0002", "20260102T120000.499Z-ffff"};
  for (const auto& id : ids) write_snapshot_info(store_, key_, sample(id));
  // Objects that are not infos are skipped: a manifest, an info-like stray name.
  store_.write_all(snapshot_manifest_object("20260104T000000.000Z-0004"), as_bytes("not listed"));
  store_.write_all("snapshots/.info", as_bytes("not listed"));

  auto all = list_snapshots(store_, key_);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].id, "20260101T000000.000Z-0001");
  EXPECT_EQ(all[1].id, "20260102T120000.499Z-ffff");
  EXPECT_EQ(all[2].id, "20260102T120000.500Z-0002");
  EXPECT_EQ(all[3].id, "20260103T000000.000Z-0003");
  EXPECT_EQ(find_snapshot(store_, key_, "latest").id, "20260103T000000.000Z-0003");
  EXPECT_EQ(find_snapshot(store_, key_, "").id, "20260103T000000.000Z-0003");
  EXPECT_EQ(find_snapshot(store_, key_, "20260102T120000.500Z-0002").id, "20260102T120000.500Z-0002");
}

TEST_F(SnapshotInfoTest, UnknownIdIsNotFound) {
  write_snapshot_info(store_, key_, sample("20260101T000000.000Z-0001"));
  expect_error("20260101T000000.000Z-9999", ErrorKind::not_found,
               "snapshot 20260101T000000.000Z-9999 not found in " + store_.describe());
}

TEST_F(SnapshotInfoTest, LatestOfNoSnapshotIsNotFoundWithAHint) {
  Error e = error_of([&] { find_snapshot(store_, key_, "latest"); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()), "no snapshot in " + store_.describe());
  EXPECT_EQ(e.hint(), "take one with 'pgdr backup'");
  EXPECT_TRUE(list_snapshots(store_, key_).empty());
}

TEST_F(SnapshotInfoTest, IdsThatAreNotNamesAreUsageErrors) {
  for (const std::string id : {"../pgdr", "a/b", "..", "20260101T000000.000Z-0001/../../pgdr.repo"}) {
    SCOPED_TRACE(id);
    expect_error(id, ErrorKind::usage, "invalid snapshot id '" + id + "'");
  }
}

TEST_F(SnapshotInfoTest, InfoCopiedToAnotherNameIsCorrupt) {
  const std::string a = "20260101T000000.000Z-000a";
  const std::string b = "20260102T000000.000Z-000b";
  write_snapshot_info(store_, key_, sample(a));
  put_raw(snapshot_info_object(b), raw(snapshot_info_object(a)));
  const std::string message = "corrupt object " + snapshot_info_object(b) + " in " + store_.describe() +
                              " (frame 0 fails authentication)";
  expect_error(b, ErrorKind::corrupt, message);
  // A strict listing meets it too; a tolerant one leaves it out and says why, so one damaged
  // object does not hide the intact snapshots, and "latest" is the newest intact one.
  Error e = error_of([&] { list_snapshots(store_, key_); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), message);
  std::vector<std::string> damaged;
  auto intact = list_snapshots(store_, key_, &damaged);
  ASSERT_EQ(intact.size(), 1u);
  EXPECT_EQ(intact[0].id, a);
  ASSERT_EQ(damaged.size(), 1u);
  EXPECT_EQ(damaged[0], message);
  EXPECT_EQ(find_snapshot(store_, key_, "latest").id, a);
}

TEST_F(SnapshotInfoTest, InfoNamingAnotherSnapshotIsCorrupt) {
  // Authentic under its name, but its content describes another snapshot.
  const std::string a = "20260101T000000.000Z-000a";
  const std::string b = "20260102T000000.000Z-000b";
  write_snapshot_info(store_, key_, sample(a));
  seal_info(b, stored_json(a).dump());
  expect_error(b, ErrorKind::corrupt,
               "corrupt object " + snapshot_info_object(b) + " in " + store_.describe() + " (names another snapshot)");
}

TEST_F(SnapshotInfoTest, MalformedInfoIsCorrupt) {
  const std::string id = "20260101T000000.000Z-000a";
  write_snapshot_info(store_, key_, sample(id));
  const nlohmann::json good = stored_json(id);
  const std::string object = snapshot_info_object(id);
  const std::string prefix = "corrupt object " + object + " in " + store_.describe() + " (";

  nlohmann::json j = good;
  j["version"] = 2;
  seal_info(id, j.dump());
  expect_error(id, ErrorKind::corrupt,
               "snapshot " + id + " in " + store_.describe() + " has format version 2, this pgdr reads version 1");

  j = good;
  j["format"] = "pgdr-manifest";
  seal_info(id, j.dump());
  expect_error(id, ErrorKind::corrupt, prefix + "not a snapshot info)");

  j = good;
  j.erase("stop_lsn");
  seal_info(id, j.dump());
  expect_error(id, ErrorKind::corrupt, prefix + "unreadable JSON)");

  j = good;
  j["timeline"] = "three";
  seal_info(id, j.dump());
  expect_error(id, ErrorKind::corrupt, prefix + "unreadable JSON)");

  // Numbers beyond the field's type were cast to it (as the manifest fuzz target found in manifests).
  for (auto [field, value] : {std::pair<const char*, nlohmann::json>{"timeline", 1e300},
                              {"block_size", (std::uint64_t{1} << 32) + 8192},
                              {"wal_segment_size", -16777216},
                              {"file_count", 1.5}}) {
    SCOPED_TRACE(field);
    j = good;
    j[field] = value;
    seal_info(id, j.dump());
    expect_error(id, ErrorKind::corrupt, prefix + "unreadable JSON)");
  }

  seal_info(id, "{\"format\": \"pgdr-snap");
  expect_error(id, ErrorKind::corrupt, prefix + "unreadable JSON)");

  // Damage at rest, not by a key holder.
  write_snapshot_info(store_, key_, sample(id));
  flip_byte(object, 30);
  expect_error(id, ErrorKind::corrupt, prefix + "frame 0 fails authentication)");
  write_snapshot_info(store_, key_, sample(id));
  cut(object, raw(object).size() - 1);
  expect_error(id, ErrorKind::corrupt, prefix + "truncated at " + std::to_string(raw(object).size()) + " bytes)");
}

TEST_F(SnapshotInfoTest, NewIdsSortByTime) {
  const std::regex shape(R"(\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4})");
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 5; ++i) {
    std::string id = new_snapshot_id();
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
    if (!previous.empty()) {
      EXPECT_LT(previous, id);
    }
    previous = id;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
}

}  // namespace
}  // namespace pgdr::repo
