// Repacking by expire, on real packs, frames and manifests: which packs are rewritten, that every
// kept snapshot reads every block back from the copies, the grace period of the old packs, a
// damaged pack left whole, markers, and an expire stopped at every write or removal it makes.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "repo/block_codec.h"
#include "repo/expire.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/retired_pack.h"
#include "repo/snapshot_info.h"
#include "repo_test_support.h"
#include "storage/faulty_storage.h"

namespace pgdr::repo {
namespace {

using test::random_data;

constexpr const char* kPassphrase = "repack test passphrase";
constexpr std::uint32_t kBlock = kDefaultBlockBytes;
constexpr int kBlocksPerFrame = 4;

struct Block {
  BlockRef ref;  // pack number unset: packs are numbered per manifest
  std::string pack;
  Bytes plain;
};
using Frame = std::vector<Block>;

class RepackTest : public test::RepoTestBase {
 protected:
  void SetUp() override { reset(); }

  // An empty repository, then the scenario: pack P1 of five frames and P2 of two. Snapshot A (to
  // expire) uses P1's frames 0-2 and P2's frame 0; B (kept) uses P1's frame 3, one block of
  // P1's frame 4 and P2's frame 0; C (kept, newest) uses P1's frame 3 and P2's frame 1. Once A
  // goes, P1 is three fifths garbage and P2 all needed.
  void reset() {
    repo_.reset();
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) std::filesystem::remove_all(e.path());
    Repository::create(store_, "main", kPassphrase, kBlock, kDefaultPackTargetBytes);
    auto s = std::make_unique<storage::FaultyStorage>(store_);
    stopping_ = s.get();
    repo_.emplace(Repository::open(std::move(s), "main", kPassphrase, "test"));
    expected_.clear();
    p1_ = write_pack(5, 100);
    p2_ = write_pack(2, 200);
    id1_ = p1_[0][0].pack;
    id2_ = p2_[0][0].pack;
    snapshot(a_, "2025-12-01T10:00:00.000Z", join({p1_[0], p1_[1], p1_[2], p2_[0]}), {id1_, id2_});
    snapshot(b_, "2026-01-10T10:00:00.000Z", join({p1_[3], {p1_[4][1]}, p2_[0]}), {});
    snapshot(c_, "2026-01-20T10:00:00.000Z", join({p1_[3], p2_[1]}), {});
  }

  static std::vector<Block> join(const std::vector<Frame>& frames) {
    std::vector<Block> out;
    for (const auto& f : frames) out.insert(out.end(), f.begin(), f.end());
    return out;
  }

  // A pack of n frames of random (incompressible) blocks, stored as they are.
  std::vector<Frame> write_pack(int n, std::uint32_t seed) {
    std::string id = new_pack_id();
    BlockCodec codec(repo_->key(), io::Codec::none, 0);
    PackWriter w(repo_->store(), repo_->key(), id, kBlock);
    std::vector<Frame> frames;
    for (int f = 0; f < n; ++f) {
      Bytes data = random_data(kBlocksPerFrame * kBlock, seed + static_cast<std::uint32_t>(f));
      std::vector<BlockId> ids;
      for (int i = 0; i < kBlocksPerFrame; ++i) ids.push_back(codec.id_of(ByteView(data).subspan(i * kBlock, kBlock)));
      auto entries = w.add_frame(codec, ids, data);
      Frame frame;
      for (int i = 0; i < kBlocksPerFrame; ++i) {
        Block b;
        b.ref.id = ids[static_cast<std::size_t>(i)];
        b.ref.offset = entries[static_cast<std::size_t>(i)].offset;
        b.ref.length = entries[static_cast<std::size_t>(i)].length;
        b.ref.index = entries[static_cast<std::size_t>(i)].index;
        b.pack = id;
        b.plain.assign(data.begin() + i * kBlock, data.begin() + (i + 1) * kBlock);
        frame.push_back(std::move(b));
      }
      frames.push_back(std::move(frame));
    }
    w.commit();
    return frames;
  }

  // A snapshot whose one file base/1/1 is the blocks in order.
  void snapshot(const std::string& id, const std::string& start, const std::vector<Block>& blocks,
                const std::vector<std::string>& wrote) {
    ManifestWriter m(repo_->store(), id, repo_->key(), kBlock);
    std::map<std::string, std::uint32_t> numbers;
    std::vector<BlockRef> refs;
    for (const auto& b : blocks) {
      if (!numbers.count(b.pack)) numbers[b.pack] = m.declare_pack(b.pack);
      BlockRef r = b.ref;
      r.pack = numbers[b.pack];
      refs.push_back(r);
    }
    FileEntry e;
    e.path = "base/1/1";
    e.size_bytes = blocks.size() * kBlock;
    e.block_count = blocks.size();
    e.sha256 = std::string(64, '0');
    m.add(e, refs);
    m.commit();
    SnapshotInfo s;
    s.id = id;
    s.cluster_name = "main";
    s.system_identifier = "7001";
    s.timeline = 1;
    s.start_lsn = s.stop_lsn = "0/0";
    s.start_time = s.stop_time = start;
    s.wal_segment_bytes = 16u << 20;
    s.first_wal_segment = s.last_wal_segment = "000000010000000000000001";
    s.block_bytes = kBlock;
    s.packs = wrote;
    write_snapshot_info(repo_->store(), repo_->key(), s);
    expected_[id] = blocks;
  }

  // Keeps snapshots younger than 30 days at 2026-02-01 (B and C), repacks at 50% garbage.
  ExpireResult expire(std::chrono::milliseconds grace = {}, double threshold = 0.5, bool dry_run = false,
                      const std::string& now = "2026-02-01T00:00:00Z") {
    ExpireOptions o;
    o.policy.hourly = o.policy.daily = o.policy.weekly = o.policy.monthly = o.policy.yearly = 0;
    o.policy.min_age = std::chrono::hours(24 * 30);
    o.now = *parse_iso8601(now);
    o.dry_run = dry_run;
    o.repack_threshold = threshold;
    o.repack_grace = grace;
    o.repack_max_packs = max_packs_;
    return run_expire(*repo_, o);
  }

  std::set<std::string> objects(const std::string& prefix) {
    std::set<std::string> out;
    for (const auto& o : store_.list(prefix)) out.insert(o.path);
    return out;
  }

  // What a restore relies on: every listed snapshot reads each of its blocks from where its
  // manifest says, authenticated and equal to what was stored; and what verify relies on: every
  // pack an info lists exists.
  void expect_restorable() {
    BlockCodec codec(repo_->key(), io::Codec::none, 0);
    for (const auto& s : list_snapshots(store_, repo_->key())) {
      for (const auto& p : s.packs) EXPECT_TRUE(store_.stat(pack_object(p))) << s.id << " lists missing pack " << p;
      ManifestIndex m(store_, s.id, repo_->key());
      const auto* e = m.find("base/1/1");
      ASSERT_NE(e, nullptr) << s.id;
      expect_blocks(m, *e, expected_.at(s.id), codec, s.id);
    }
  }
  void expect_blocks(const ManifestIndex& m, const ManifestIndex::Entry& e, const std::vector<Block>& want,
                     BlockCodec& codec, const std::string& what) {
    auto refs = m.blocks(e);
    ASSERT_EQ(refs.size(), want.size()) << what;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      auto frame = store_.read_range(pack_object(m.pack_id(refs[i].pack)), refs[i].offset, refs[i].length);
      ASSERT_TRUE(frame) << what << " block " << i << ": pack " << m.pack_id(refs[i].pack) << " is gone";
      // The frame opens only where it now lies (its AAD names its pack and offset).
      Bytes plain;
      const FrameShape shape =
          codec.open_frame(*frame, FramePlace{m.pack_id(refs[i].pack), refs[i].offset}, plain);
      ASSERT_LT(refs[i].index, shape.count);
      EXPECT_EQ(refs[i].id, want[i].ref.id) << what << " block " << i;
      Bytes got(plain.begin() + refs[i].index * kBlock, plain.begin() + (refs[i].index + 1) * kBlock);
      EXPECT_EQ(got, want[i].plain) << what << " block " << i;
      EXPECT_EQ(codec.id_of(got), want[i].ref.id) << what << " block " << i;
    }
  }

  std::optional<Repository> repo_;
  std::size_t max_packs_ = static_cast<std::size_t>(-1);
  storage::FaultyStorage* stopping_ = nullptr;
  std::map<std::string, std::vector<Block>> expected_;
  std::vector<Frame> p1_, p2_;
  std::string id1_, id2_;
  const std::string a_ = "20251201T100000.000Z-aaaa", b_ = "20260110T100000.000Z-bbbb",
                    c_ = "20260120T100000.000Z-cccc";
};

TEST_F(RepackTest, APackMostlyGarbageIsRewrittenAndKeptSnapshotsReadEveryBlockFromTheCopy) {
  const std::uint64_t p1_size = store_.stat(pack_object(id1_))->size_bytes;
  const std::uint64_t frame_bytes = p1_[0][0].ref.length;

  ExpireResult dry = expire({}, 0.5, true);
  ASSERT_EQ(dry.repacked.size(), 1u);
  EXPECT_EQ(dry.repacked[0].name, pack_object(id1_));
  EXPECT_EQ(dry.repacked[0].live_bytes, 2 * frame_bytes);  // frame 3 (B and C count once) and frame 4
  EXPECT_EQ(objects("packs"), (std::set<std::string>{pack_object(id1_), pack_object(id2_)}));
  EXPECT_TRUE(dry.manifests_rewritten.empty() && dry.repack_written.empty());

  ExpireResult r = expire();
  ASSERT_EQ(r.repacked.size(), 1u) << (r.warnings.empty() ? "" : r.warnings[0]);
  EXPECT_EQ(r.repacked[0].name, pack_object(id1_));
  ASSERT_EQ(r.repack_written.size(), 1u);
  const std::string fresh = r.repack_written[0].name.substr(r.repack_written[0].name.rfind('/') + 1);
  EXPECT_EQ(r.manifests_rewritten, (std::vector<std::string>{b_, c_}));
  EXPECT_TRUE(r.warnings.empty());
  // No grace: the old pack went in the same expire, and its marker after it.
  EXPECT_EQ(objects("packs"), (std::set<std::string>{pack_object(id2_), pack_object(fresh)}));
  EXPECT_TRUE(objects(std::string(kRetiredDir)).empty());
  EXPECT_EQ(r.retired_markers.size(), 1u);
  std::set<std::string> removed;
  for (const auto& p : r.packs) removed.insert(p.name);
  EXPECT_EQ(removed, std::set<std::string>{pack_object(id1_)});

  // The copy holds exactly the two needed frames, sealed anew for their place, and a trailer
  // listing their blocks.
  auto trailer = read_pack_trailer(store_, repo_->key(), fresh).entries;
  EXPECT_EQ(trailer.size(), 2u * kBlocksPerFrame);
  Bytes copy = raw(pack_object(fresh));
  EXPECT_LT(copy.size(), p1_size / 2);
  std::set<std::uint32_t> offsets;
  for (const auto& t : trailer) offsets.insert(t.offset);
  EXPECT_EQ(offsets.size(), 2u);

  expect_restorable();
  // The pack lists of the kept infos are exact: the new pack and P2 belong to C, the newest that
  // needs them; P1 is nobody's.
  auto c_packs = find_snapshot(store_, repo_->key(), c_).packs;
  EXPECT_EQ(std::set<std::string>(c_packs.begin(), c_packs.end()), (std::set<std::string>{fresh, id2_}));
  EXPECT_TRUE(find_snapshot(store_, repo_->key(), b_).packs.empty());
  EXPECT_EQ(find_snapshot(store_, repo_->key(), b_).manifest_bytes,
            store_.stat(snapshot_manifest_object(b_))->size_bytes);
  // freed accounts for every byte: the repository shrank by exactly that.
  EXPECT_GT(r.bytes_freed, 0);
  EXPECT_EQ(r.bytes_freed, static_cast<std::int64_t>(r.bytes_removed + r.bytes_replaced) -
                               static_cast<std::int64_t>(r.bytes_written));
  EXPECT_GE(r.bytes_written, copy.size());

  // Nothing left to do.
  ExpireResult again = expire();
  EXPECT_TRUE(again.repacked.empty() && again.packs.empty() && again.manifests_rewritten.empty() &&
              again.infos_rewritten.empty());
  EXPECT_EQ(again.bytes_freed, 0);
}

TEST_F(RepackTest, BelowTheThresholdOrWithRepackingOffAPackStaysWhole) {
  for (double threshold : {0.7, 0.0}) {
    ExpireResult r = expire({}, threshold);
    EXPECT_TRUE(r.repacked.empty()) << threshold;
    EXPECT_TRUE(r.manifests_rewritten.empty()) << threshold;
    EXPECT_EQ(objects("packs"), (std::set<std::string>{pack_object(id1_), pack_object(id2_)})) << threshold;
  }
  expect_restorable();
}

TEST_F(RepackTest, AtAThresholdNearZeroOnlyRealGarbageCountsAndACopyIsNeverRepackedAgain) {
  // P2 is wholly needed: its trailer is not garbage, however low the threshold.
  ExpireResult r = expire({}, 0.0001);
  ASSERT_EQ(r.repacked.size(), 1u);
  EXPECT_EQ(r.repacked[0].name, pack_object(id1_));
  for (int run = 0; run < 2; ++run) {
    ExpireResult again = expire({}, 0.0001);
    EXPECT_TRUE(again.repacked.empty()) << "run " << run << ": " << again.repacked[0].name;
    EXPECT_TRUE(again.manifests_rewritten.empty());
  }
  expect_restorable();
}

TEST_F(RepackTest, OneRunRepacksAtMostMaxPacksTheMostGarbageFirstAndTheNextGoesOn) {
  // P3: four frames of which the newest snapshot D uses one, three quarters garbage against P1's
  // three fifths.
  auto p3 = write_pack(4, 300);
  snapshot("20260125T100000.000Z-dddd", "2026-01-25T10:00:00.000Z", join({p3[2]}), {});
  const std::string id3 = p3[0][0].pack;
  max_packs_ = 1;
  ExpireResult first = expire();
  ASSERT_EQ(first.repacked.size(), 1u);
  EXPECT_EQ(first.repacked[0].name, pack_object(id3));
  EXPECT_EQ(first.repack_deferred, 1u);
  EXPECT_TRUE(store_.stat(pack_object(id1_)));
  expect_restorable();
  ExpireResult second = expire();
  ASSERT_EQ(second.repacked.size(), 1u);
  EXPECT_EQ(second.repacked[0].name, pack_object(id1_));
  EXPECT_EQ(second.repack_deferred, 0u);
  EXPECT_FALSE(store_.stat(pack_object(id1_)));
  EXPECT_FALSE(store_.stat(pack_object(id3)));
  expect_restorable();
}

TEST_F(RepackTest, ARepackedPackStaysForItsGracePeriodSoEarlierReadersFinishThenGoes) {
  // A restore that read B's manifest before the repack and its blocks after.
  ManifestIndex before(store_, b_, repo_->key());
  ExpireResult r = expire(std::chrono::hours(1));
  ASSERT_EQ(r.repacked.size(), 1u);
  EXPECT_EQ(r.retired_waiting, 1u);
  EXPECT_TRUE(r.packs.empty());
  EXPECT_LT(r.bytes_freed, 0);  // the copy is written, the original still there
  EXPECT_TRUE(store_.stat(pack_object(id1_)));
  EXPECT_EQ(objects(std::string(kRetiredDir)), std::set<std::string>{retired_object(id1_)});
  auto listing = list_retired(store_, repo_->key());
  ASSERT_EQ(listing.markers.size(), 1u);
  EXPECT_EQ(listing.markers[0].retired_at, *parse_iso8601("2026-02-01T00:00:00Z"));
  EXPECT_EQ(listing.markers[0].replaced_by.size(), 1u);
  BlockCodec codec(repo_->key(), io::Codec::none, 0);
  expect_blocks(before, *before.find("base/1/1"), expected_.at(b_), codec, "B through its old manifest");
  expect_restorable();

  ExpireResult half = expire(std::chrono::hours(1), 0.5, false, "2026-02-01T00:59:00Z");
  EXPECT_TRUE(half.packs.empty());
  EXPECT_EQ(half.retired_waiting, 1u);
  EXPECT_TRUE(store_.stat(pack_object(id1_)));

  ExpireResult after = expire(std::chrono::hours(1), 0.5, false, "2026-02-01T01:00:00Z");
  ASSERT_EQ(after.packs.size(), 1u);
  EXPECT_EQ(after.packs[0].name, pack_object(id1_));
  EXPECT_EQ(after.retired_markers.size(), 1u);
  EXPECT_EQ(after.retired_waiting, 0u);
  EXPECT_FALSE(store_.stat(pack_object(id1_)));
  EXPECT_TRUE(objects(std::string(kRetiredDir)).empty());
  expect_restorable();
}

TEST_F(RepackTest, ADamagedFrameLeavesItsPackWholeAndSaysWhy) {
  // Frame 4 is needed by B; flip a byte inside it.
  flip_byte(pack_object(id1_), p1_[4][0].ref.offset + 40);
  ExpireResult r = expire();
  EXPECT_TRUE(r.repacked.empty());
  EXPECT_TRUE(r.repack_written.empty());
  EXPECT_TRUE(r.manifests_rewritten.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(test::contains(r.warnings[0], "corrupt pack " + pack_object(id1_) + " in local directory "))
      << r.warnings[0];
  EXPECT_TRUE(test::contains(r.warnings[0], "(frame at offset " + std::to_string(p1_[4][0].ref.offset) + ": "))
      << r.warnings[0];
  EXPECT_TRUE(r.warnings[0].ends_with(": left whole")) << r.warnings[0];
  EXPECT_EQ(objects("packs"), (std::set<std::string>{pack_object(id1_), pack_object(id2_)}));
  EXPECT_TRUE(objects(std::string(kRetiredDir)).empty());
}

TEST_F(RepackTest, MarkersOfPacksNeededAgainOrGoneAreRemovedAndADamagedOneRestartsTheGrace) {
  // P2 is needed by C: a marker for it (a repack stopped before switching manifests) goes.
  write_retired_marker(repo_->store(), repo_->key(), {id2_, *parse_iso8601("2026-01-01T00:00:00Z"), {}});
  // A marker whose pack is already gone goes too.
  const std::string gone(32, 'e');
  write_retired_marker(repo_->store(), repo_->key(), {gone, *parse_iso8601("2026-01-01T00:00:00Z"), {}});
  ExpireResult r = expire(std::chrono::hours(1), 0);
  std::set<std::string> markers;
  for (const auto& m : r.retired_markers) markers.insert(m.name);
  EXPECT_EQ(markers, (std::set<std::string>{retired_object(id2_), retired_object(gone)}));
  EXPECT_TRUE(objects(std::string(kRetiredDir)).empty());
  EXPECT_TRUE(store_.stat(pack_object(id2_)));

  // An unreferenced pack with a damaged marker is kept, warned about, and gets a fresh marker.
  const std::string loose = write_pack(1, 900)[0][0].pack;
  put_raw(retired_object(loose), as_bytes("not a marker"));
  ExpireResult d = expire(std::chrono::hours(1), 0);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_TRUE(test::contains(d.warnings[0], "corrupt object " + retired_object(loose))) << d.warnings[0];
  EXPECT_TRUE(test::contains(d.warnings[0], "kept for a new grace period")) << d.warnings[0];
  EXPECT_TRUE(store_.stat(pack_object(loose)));
  auto listing = list_retired(store_, repo_->key());
  ASSERT_EQ(listing.markers.size(), 1u);
  EXPECT_EQ(listing.markers[0].pack_id, loose);
  EXPECT_TRUE(listing.damaged.empty());
  ExpireResult later = expire(std::chrono::hours(1), 0, false, "2026-02-01T02:00:00Z");
  EXPECT_FALSE(store_.stat(pack_object(loose)));
  EXPECT_TRUE(objects(std::string(kRetiredDir)).empty());
  EXPECT_TRUE(later.warnings.empty());
}

TEST_F(RepackTest, AnExpireStoppedAtAnyWriteOrRemovalLeavesEverySnapshotReadableAndTheNextFinishes) {
  int k = 0;
  for (;; ++k) {
    ASSERT_LT(k, 60) << "expire never completed";
    if (k > 0) reset();
    stopping_->interrupt_after_changes(k);
    try {
      expire();
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::interrupted) << e.what();
    }
    bool stopped = stopping_->interrupted();
    stopping_->interrupt_after_changes(-1);
    SCOPED_TRACE("stopped after " + std::to_string(k) + " changes");
    EXPECT_FALSE(store_.stat("locks/writer"));
    expect_restorable();
    ExpireResult r = expire();
    EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
    expect_restorable();
    // Whatever point it stopped at, the next expire finishes the work: P1 gone, P2 kept, no
    // marker, the kept snapshots only, and nothing left for a further expire to do. (Stopped
    // between the two manifest switches, B keeps the first copy and C gets a second one: frame 3
    // is then stored twice until B goes.)
    auto packs = objects("packs");
    EXPECT_GE(packs.size(), 2u);
    EXPECT_LE(packs.size(), 3u);
    EXPECT_TRUE(packs.count(pack_object(id2_)));
    EXPECT_FALSE(packs.count(pack_object(id1_)));
    EXPECT_TRUE(objects(std::string(kRetiredDir)).empty());
    EXPECT_EQ(objects("snapshots"),
              (std::set<std::string>{snapshot_info_object(b_), snapshot_manifest_object(b_), snapshot_info_object(c_),
                                     snapshot_manifest_object(c_)}));
    ExpireResult idle = expire();
    EXPECT_TRUE(idle.repacked.empty() && idle.packs.empty() && idle.manifests_rewritten.empty() &&
                idle.infos_rewritten.empty() && idle.retired_markers.empty());
    if (!stopped) {
      EXPECT_EQ(packs.size(), 2u);
      break;
    }
  }
  // Removals and writes of a full run: infos, manifests, copy, marker, two manifests, infos, pack, marker.
  EXPECT_GE(k, 9);
}

}  // namespace
}  // namespace pgdr::repo
