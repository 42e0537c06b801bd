// verify's change_maps check without a server: hand-written manifests of a full read S and its
// previous snapshot P, compared through hand-built maps (what the plan would have read, what it
// would have taken from P, and which differences that leaves unexplained), and the check's reasons
// for not checking.
#include "verify/change_map_check.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "../repo/repo_test_support.h"
#include "pg/page.h"
#include "repo/manifest.h"
#include "repo/pack.h"

namespace pgdr::verify {
namespace {

constexpr std::uint32_t kBlock = 8192;
const std::string kPrevious = "20260101T000000.000Z-0001";
const std::string kSnapshot = "20260101T010000.000Z-0002";

pg::RelationFork main_fork(std::uint32_t rel) { return {{pg::kDefaultTablespaceOid, 5, rel}, pg::ForkNumber::main}; }

// A file's blocks by content tag: 0 is an all-zero block, any other tag a block of that content.
using Blocks = std::vector<int>;

// The content of a block of tag (not 0): the same in every pack, so its id is too.
Bytes tagged_block(int tag) {
  Bytes b(kBlock, 0);
  b[0] = static_cast<std::uint8_t>(tag);
  b[1] = static_cast<std::uint8_t>(tag >> 8);
  b[2] = static_cast<std::uint8_t>(tag >> 16);
  b[3] = 1;
  return b;
}

class ChangeMapCheckTest : public repo::test::OpenRepoTestBase {
 protected:
  // The manifest of snapshot id, its blocks in a pack of its own holding each tag's block once
  // (a manifest's block ids are in its packs' trailers).
  void write_manifest(const std::string& id, const std::map<std::string, Blocks>& files) {
    repo::BlockCodec codec(repo().key(), io::Codec::none, 0);
    const std::string pack_id = repo::new_pack_id();
    repo::PackWriter pack(store_, repo().key(), pack_id, kBlock);
    std::map<int, repo::BlockRef> placed;
    for (const auto& [path, tags] : files)
      for (int t : tags) {
        if (t == 0 || placed.count(t)) continue;
        const Bytes b = tagged_block(t);
        const repo::PackEntry e = pack.add_frame(codec, {codec.id_of(b)}, b).front();
        placed[t] = repo::BlockRef{e.id, 0, e.offset, e.length, e.index};
      }
    pack.commit();
    repo::ManifestWriter w(store_, id, repo().key(), kBlock);
    w.declare_pack(pack_id);
    for (const auto& [path, tags] : files) {
      repo::FileEntry e;
      e.path = path;
      e.size_bytes = tags.size() * kBlock;
      e.sha256 = std::string(64, 'a');
      e.block_count = tags.size();
      std::vector<repo::BlockRef> refs;
      for (int t : tags) refs.push_back(t == 0 ? repo::BlockRef{} : placed.at(t));
      w.add(e, refs);
    }
    w.commit();
  }

  UnreadComparison compare(const pg::ChangeMap& map) {
    repo::ManifestIndex s(store_, kSnapshot, repo().key());
    repo::ManifestIndex p(store_, kPrevious, repo().key());
    return compare_unread_blocks(map, s, p, 10);
  }

  static repo::SnapshotInfo info(const std::string& id, const std::string& previous) {
    repo::SnapshotInfo i;
    i.id = id;
    i.previous_snapshot = previous;
    i.system_identifier = "7300000000000000001";
    i.timeline = 1;
    i.start_lsn = previous.empty() ? "0/2000028" : "0/5000028";
    i.stop_lsn = previous.empty() ? "0/2000100" : "0/5000100";
    i.wal_segment_bytes = 16u << 20;
    i.block_bytes = kBlock;
    i.data_checksums = true;
    i.change_source = "full-read";
    return i;
  }
};

TEST_F(ChangeMapCheckTest, BlocksTheMapNamesMayDifferAndAppendedOnesAreRead) {
  write_manifest(kPrevious, {{"base/5/16384", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}});
  write_manifest(kSnapshot, {{"base/5/16384", {1, 2, 30, 4, 5, 6, 7, 8, 9, 0, 11, 12, 13, 14}}});
  pg::ChangeMap map;
  map.add_block(main_fork(16384), 2);
  map.add_block(main_fork(16384), 9);
  auto c = compare(map);
  EXPECT_EQ(c.missed_blocks, 0u);
  EXPECT_EQ(c.missed_files, 0u);
  EXPECT_TRUE(c.listed.empty());
  EXPECT_EQ(c.files_by_map, 1u);
  EXPECT_EQ(c.files_whole, 0u);
  EXPECT_EQ(c.blocks_planned, 6u);   // 2, 9, the gap 10-11 read through, the appended 12, 13
  EXPECT_EQ(c.blocks_compared, 8u);  // 0, 1, 3-8
}

TEST_F(ChangeMapCheckTest, ADifferenceTheMapDoesNotNameIsAMiss) {
  write_manifest(kPrevious, {{"base/5/16384", {1, 2, 3, 4, 5}}, {"base/5/16390", {0, 0, 8}}});
  write_manifest(kSnapshot, {{"base/5/16384", {1, 2, 30, 4, 50}}, {"base/5/16390", {9, 0, 8}}});
  pg::ChangeMap map;
  map.add_block(main_fork(16384), 2);
  auto c = compare(map);
  EXPECT_EQ(c.missed_blocks, 2u);
  EXPECT_EQ(c.missed_files, 2u);
  ASSERT_EQ(c.listed.size(), 2u);
  EXPECT_EQ(c.listed[0].path, "base/5/16384");
  EXPECT_EQ(c.listed[0].blocks, 1u);
  EXPECT_EQ(c.listed[0].first, (std::vector<std::uint64_t>{4}));
  // A block that was all zeros in P and holds data in S differs too.
  EXPECT_EQ(c.listed[1].path, "base/5/16390");
  EXPECT_EQ(c.listed[1].first, (std::vector<std::uint64_t>{0}));
  EXPECT_EQ(c.blocks_compared, 4u + 3u);
}

TEST_F(ChangeMapCheckTest, FilesThePlanReadsWholeAreNotCompared) {
  const std::map<std::string, Blocks> before = {
      {"base/5/16384", {1, 2}},     // truncated in the range (limit)
      {"base/5/16384_vm", {1}},     // not a main fork
      {"base/5/16400", {1, 2, 3}},  // shorter in S
      {"base/5/PG_VERSION", {1}},   // not a relation
      {"base/6/16500", {1}},        // its database was created or dropped in the range
  };
  write_manifest(kPrevious, before);
  write_manifest(kSnapshot, {{"base/5/16384", {7, 8}},
                             {"base/5/16384_vm", {7}},
                             {"base/5/16400", {7}},
                             {"base/5/PG_VERSION", {7}},
                             {"base/6/16500", {7}},
                             {"base/5/16600", {7}}});  // new since P
  pg::ChangeMap map;
  map.add_limit(main_fork(16384), 0);
  map.add_database({pg::kDefaultTablespaceOid, 6});
  auto c = compare(map);
  EXPECT_EQ(c.missed_blocks, 0u);
  EXPECT_EQ(c.files_whole, 6u);
  EXPECT_EQ(c.files_by_map, 0u);
  EXPECT_EQ(c.blocks_compared, 0u);
}

TEST_F(ChangeMapCheckTest, LargeFilesAreComparedSliceBySliceWithoutMissingTheirEnd) {
  Blocks before(20000), after;
  for (int i = 0; i < 20000; ++i) before[i] = i + 1;
  after = before;
  after[8191] = 99999;   // the last of the first slice, named by the map
  after[8192] = 99998;   // the first of the second, not named
  after[19999] = 99997;  // the very last, not named
  write_manifest(kPrevious, {{"base/5/16384", before}});
  write_manifest(kSnapshot, {{"base/5/16384", after}});
  pg::ChangeMap map;
  map.add_block(main_fork(16384), 8191);
  auto c = compare(map);
  EXPECT_EQ(c.blocks_compared, 19999u);
  EXPECT_EQ(c.missed_blocks, 2u);
  ASSERT_EQ(c.listed.size(), 1u);
  EXPECT_EQ(c.listed[0].first, (std::vector<std::uint64_t>{8192, 19999}));
}

TEST_F(ChangeMapCheckTest, ListsAFewBlocksPerFileAndCountsTheRest) {
  Blocks before(50), after(50);
  for (int i = 0; i < 50; ++i) {
    before[i] = i + 1;
    after[i] = i + 1001;
  }
  std::map<std::string, Blocks> p, s;
  for (int f = 0; f < 12; ++f) {
    p["base/5/" + std::to_string(20000 + f)] = before;
    s["base/5/" + std::to_string(20000 + f)] = after;
  }
  write_manifest(kPrevious, p);
  write_manifest(kSnapshot, s);
  auto c = compare(pg::ChangeMap{});
  EXPECT_EQ(c.missed_blocks, 12u * 50u);
  EXPECT_EQ(c.missed_files, 12u);
  ASSERT_EQ(c.listed.size(), 10u);  // compare() lists at most 10 files
  EXPECT_EQ(c.listed[0].blocks, 50u);
  EXPECT_EQ(c.listed[0].first, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST_F(ChangeMapCheckTest, SaysWhyItDoesNotCheck) {
  auto s = info(kSnapshot, kPrevious);
  auto p = info(kPrevious, "");

  // The first full read has nothing to be compared with.
  auto r = check_change_maps(repo(), {p}, {p});
  EXPECT_EQ(r.name, "change_maps");
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_NE(r.summary.find("no snapshot read every byte after an earlier one"), std::string::npos) << r.summary;

  // A snapshot by map is not the reference: only full reads are.
  auto by_map = s;
  by_map.change_source = "wal-archive";
  r = check_change_maps(repo(), {p, by_map}, {p, by_map});
  EXPECT_EQ(r.status, std::nullopt);

  // P expired.
  r = check_change_maps(repo(), {s}, {s});
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_NE(r.summary.find("has its previous snapshot in the repository"), std::string::npos) << r.summary;

  // Without data checksums hint bits differ legitimately.
  auto no_sums = s;
  no_sums.data_checksums = false;
  r = check_change_maps(repo(), {p, no_sums}, {p, no_sums});
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_EQ(r.summary.rfind("not checked: snapshot " + kSnapshot + " is of a cluster without data checksums", 0), 0u)
      << r.summary;
  EXPECT_TRUE(r.findings.empty());

  // An empty WAL archive: no map, and the reason names the first segment it lacks (not a local path).
  r = check_change_maps(repo(), {p, s}, {p, s});
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_EQ(r.summary, "not checked: no map: WAL segment 000000010000000000000002 is missing: not archived in " +
                           repo().describe());
  EXPECT_EQ(r.details["snapshot"], kSnapshot);
  EXPECT_EQ(r.details["previous_snapshot"], kPrevious);

  // A later timeline whose history file is not archived.
  auto promoted = s;
  promoted.timeline = 2;
  r = check_change_maps(repo(), {p, promoted}, {p, promoted});
  EXPECT_EQ(r.status, std::nullopt);
  EXPECT_NE(r.summary.find("no map: no WAL path from snapshot " + kPrevious), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("history file 00000002.history is not archived"), std::string::npos) << r.summary;
}

}  // namespace
}  // namespace pgdr::verify
