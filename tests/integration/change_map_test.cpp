// Change maps never miss a block, on PostgreSQL 15 with WAL archived by pgdr archive-push (the
// wal-archive source): seeded random workloads, a relation file past its first 1 GB segment, and
// a promoted standby going on with the same repository; each snapshot by map equals a full read
// of the quiet server block for block and restores to the source's content
// (change_map_fixture.h). And the comparison itself can fail, and says where.
#include <chrono>
#include <map>
#include <thread>

#include "change_map_fixture.h"
#include "core/bytes.h"
#include "repo/format.h"
#include "repo/pack.h"

namespace pgdr::test {
namespace {

class ChangeMapTest : public ChangeMapFixture {
 protected:
  std::string map_source() const override { return "wal-archive"; }
  PgClusterOptions cluster_options() override { return quiet(archiving({})); }
};

class SeededChangeMapTest : public ChangeMapTest, public testing::WithParamInterface<std::uint64_t> {};

TEST_P(SeededChangeMapTest, SnapshotByMapEqualsFullRead) { run_seeded(GetParam(), 4); }

INSTANTIATE_TEST_SUITE_P(Seeds, SeededChangeMapTest, testing::ValuesIn(change_map_seeds({1, 2, 3})),
                         [](const testing::TestParamInfo<std::uint64_t>& i) { return "seed" + std::to_string(i.param); });

// The one test with a relation past 1 GB, where PostgreSQL starts the file's second segment
// (<relfilenode>.1): maps name blocks by relation block number and the backup by segment file, and
// only here do the two differ. Once, not per seed: it writes, reads and restores over a GB each
// time, about a minute of CI. fillfactor 10 spreads small rows over many pages, so the GB costs a
// tenth of that in WAL and inserts.
TEST_F(ChangeMapTest, RelationPastItsFirstSegment) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE wide (id int, k int, pad text) WITH (fillfactor = 10)");
  cluster_->psql("INSERT INTO wide SELECT g, 0, repeat('w', 60) FROM generate_series(1, 1200000) g");
  // The first read of each row sets its hint bits, which with checksums logs the whole page: done
  // here, before the first snapshot, so that the next map names only the pages the test changes.
  cluster_->psql("VACUUM (FREEZE) wide");
  const std::string file = cluster_->psql("SELECT pg_relation_filepath('wide')");
  const auto pages = std::stoll(cluster_->psql("SELECT pg_relation_size('wide') / 8192"));
  ASSERT_GT(pages, 131072 + 1000) << "wide must reach well into its second segment";
  std::cout << "[ change map ] wide: " << file << ", " << pages << " pages" << std::endl;
  first_snapshot();

  // Blocks on both sides of the boundary (block 131072 is the second segment's first) and
  // scattered over both segments change; the second segment grows.
  cluster_->psql("UPDATE wide SET k = k + 1 WHERE ctid = ANY ('{\"(131070,1)\",\"(131071,1)\",\"(131072,1)\","
                 "\"(131073,1)\"}'::tid[])");
  cluster_->psql("UPDATE wide SET k = k + 1 WHERE id % 4999 = 0");
  cluster_->psql("INSERT INTO wide SELECT g, 1, repeat('x', 60) FROM generate_series(1200001, 1230000) g");
  const std::string by_map = check_step("wide: updates across the boundary, the second segment extended");
  // The map, not a whole read, made that snapshot: most of both segments was taken unread.
  if (!by_map.empty()) {
    EXPECT_GT(changes_of(by_map).value("unread_blocks", std::uint64_t{0}), static_cast<std::uint64_t>(pages) * 9 / 10);
  }

  // The tail emptied: VACUUM truncates the relation back into its first segment (the second one
  // goes empty), then it grows past the boundary again.
  cluster_->psql("DELETE FROM wide WHERE id > 900000");
  cluster_->psql("VACUUM wide");
  const auto truncated = std::stoll(cluster_->psql("SELECT pg_relation_size('wide') / 8192"));
  ASSERT_LT(truncated, 131072) << "VACUUM did not truncate wide below its second segment";
  cluster_->psql("INSERT INTO wide SELECT g, 2, repeat('y', 60) FROM generate_series(2000001, 2400000) g");
  ASSERT_GT(std::stoll(cluster_->psql("SELECT pg_relation_size('wide') / 8192")), 131072);
  check_step("wide: truncated into the first segment, then grown past it again");
}

// A standby made with pg_basebackup and streaming from the primary is promoted (timeline 2); the
// snapshots go on from it into the same repository, and the map spans the timeline switch.
TEST_F(ChangeMapTest, PromotedStandbyGoesOnByMap) {
  pgdr_ok({"init"});
  // No tablespace here: pg_basebackup would need each mapped, and the seeded tests cover them.
  Workload w(*cluster_, 42, "pg_default");
  w.setup();
  first_snapshot();
  w.run(3);
  check_step("timeline 1");

  const std::string dir = work_->file("standby");
  auto bb = PgCluster::run_as_server_user(
      {PgCluster::bin("pg_basebackup"), "-D", dir, "-R", "-X", "stream", "-c", "fast", "-d", cluster_->conninfo()});
  ASSERT_EQ(bb.exit_code, 0) << bb.err;
  auto standby = std::make_unique<PgCluster>(PgCluster::Adopt{dir}, quiet(archiving({})));

  // Changes on timeline 1 that only the standby's copy of the WAL and the primary's archive hold.
  for (const auto& op : w.run(3)) std::cout << "[ change map ] before the promotion: " << op << std::endl;
  archive_now(*cluster_);
  const std::string end = cluster_->psql("SELECT pg_current_wal_lsn()");
  bool replayed = false;
  for (int i = 0; i < 600 && !replayed; ++i) {
    replayed = standby->psql("SELECT pg_last_wal_replay_lsn() >= '" + end + "'::pg_lsn") == "t";
    if (!replayed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(replayed) << "the standby did not replay up to " << end;
  cluster_->stop("fast");
  standby->psql("SELECT pg_promote()");
  wait_recovered(*standby);
  ASSERT_EQ(standby->psql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), "00000002");

  // From here on the promoted server is the cluster pgdr backs up.
  std::unique_ptr<PgCluster> old_primary = std::move(cluster_);
  cluster_ = std::move(standby);
  write_config();
  w.retarget(*cluster_);
  for (const auto& op : w.run(3)) std::cout << "[ change map ] after the promotion: " << op << std::endl;
  check_step("timeline 2, the map across the promotion");
}

// The comparison finds a single differing block among equal ones, names its file and block, and
// ignores what differs between any two backups. Manifests written with the repository's own
// writer over blocks of a real pack, and read back as the integration tests read them.
TEST(ChangeMapComparison, NamesTheFirstDifferingFileAndBlock) {
  TempDir dir("pgdr-cmp");
  storage::PosixStorage store(dir.path());
  repo::Repository::create(store, "local", kPassphrase, repo::kDefaultBlockBytes, repo::kDefaultPackTargetBytes);
  const repo::Repository r =
      repo::Repository::open(std::make_unique<storage::PosixStorage>(dir.path()), "local", kPassphrase, "the test");
  const std::uint32_t bs = r.settings().block_bytes;

  // The blocks, one of each content, in one pack: a manifest's block ids are in its packs'
  // trailers. Block (a, b) is bytes a with a last byte b.
  repo::BlockCodec codec(r.key(), io::Codec::none, 0);
  const std::string pack_id = repo::new_pack_id();
  std::map<std::pair<int, int>, repo::BlockRef> stored;
  {
    repo::PackWriter pack(r.store(), r.key(), pack_id, bs);
    for (auto [a, b] : std::vector<std::pair<int, int>>{{1, 0}, {1, 1}, {1, 2}, {1, 3}, {9, 9}, {2, 0}, {3, 0}, {3, 1},
                                                        {3, 2}, {4, 0}, {4, 1}, {4, 2}}) {
      Bytes content(bs, static_cast<std::uint8_t>(a));
      content.back() = static_cast<std::uint8_t>(b);
      const repo::PackEntry e = pack.add_frame(codec, {codec.id_of(content)}, content).front();
      stored[{a, b}] = repo::BlockRef{e.id, 0, e.offset, e.length, e.index};
    }
    pack.commit();
  }
  auto block = [&](int a, int b) { return stored.at({a, b}); };
  auto hex = [&](int a, int b) { return to_hex(ByteView(stored.at({a, b}).id.data(), 8)); };
  auto entry = [&](const std::string& path, std::uint64_t blocks) {
    repo::FileEntry e;
    e.path = path;
    e.size_bytes = blocks * bs;
    e.block_count = blocks;
    e.sha256 = std::string(64, 'a');
    return e;
  };
  // changed_block: the block of base/5/16384 to give another id (none when out of range);
  // other_control: pg_control and backup_label differ too, as between any two backups.
  auto write = [&](const std::string& id, std::uint64_t changed_block, bool other_control) {
    repo::ManifestWriter w(store, id, r.key(), bs);
    w.declare_pack(pack_id);
    repo::FileEntry base = entry("base", 0);
    base.type = repo::EntryType::directory;
    w.add(base, {});
    std::vector<repo::BlockRef> rel;
    for (std::uint8_t i = 0; i < 4; ++i) rel.push_back(block(1, i));
    rel[2] = repo::BlockRef{};  // an all-zero block among them
    if (changed_block < rel.size()) rel[changed_block] = block(9, 9);
    w.add(entry("base/5/16384", 4), rel);
    w.add(entry("base/5/16384_fsm", 1), {block(2, 0)});
    const std::uint8_t c = other_control ? 4 : 3;
    w.add(entry("global/pg_control", 1), {block(c, 0)});
    w.add(entry("backup_label", 1), {block(c, 1)});
    w.add(entry("pg_wal/000000010000000000000003", 1), {block(c, 2)});
    w.commit();
  };
  write("20260101T000000.000Z-0001", 99, false);
  write("20260101T000001.000Z-0002", 99, true);
  write("20260101T000002.000Z-0003", 1, true);
  write("20260101T000003.000Z-0004", 2, false);
  const auto a = read_manifest_files(r, "20260101T000000.000Z-0001");
  const auto b = read_manifest_files(r, "20260101T000001.000Z-0002");
  const auto c = read_manifest_files(r, "20260101T000002.000Z-0003");
  const auto d = read_manifest_files(r, "20260101T000003.000Z-0004");
  ASSERT_EQ(a.files.size(), 6u);

  EXPECT_EQ(first_difference(a, b), "") << "backup_label, pg_control and pg_wal/ are not compared";
  EXPECT_EQ(first_difference(a, c),
            "base/5/16384: block 1 (bytes " + std::to_string(bs) + " to " + std::to_string(2 * bs) +
                ") is " + hex(1, 1) + " by map, " + hex(9, 9) + " in the full read; 1 of 4 blocks differ");
  EXPECT_EQ(first_difference(a, d),
            "base/5/16384: block 2 (bytes " + std::to_string(2 * bs) + " to " + std::to_string(3 * bs) +
                ") is <zero block> by map, " + hex(9, 9) + " in the full read; 1 of 4 blocks differ");

  // A file the map side lacks, and one of another size, come first in path order with the rest listed.
  ManifestFiles e = a;
  e.files.erase("base/5/16384_fsm");
  e.files["base/5/16384"].size_bytes -= 1;
  EXPECT_EQ(first_difference(e, a),
            "base/5/16384: " + std::to_string(4 * bs - 1) + " bytes by map, " + std::to_string(4 * bs) +
                " in the full read\n(2 entries differ; the next:\n  base/5/16384_fsm: only in the full read)");
}

}  // namespace
}  // namespace pgdr::test
