#include "repo/expire.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "repo/format.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/snapshot_info.h"
#include "repo/wal_archive.h"
#include "repo/wal_summary.h"
#include "repo_test_support.h"
#include "storage/faulty_storage.h"

namespace pgdr::repo {
namespace {

using test::error_of;

constexpr const char* kPassphrase = "expire test passphrase";
constexpr std::uint64_t kSegmentBytes = 16u << 20;


RetentionPolicy keep_newest_only() {
  RetentionPolicy p;
  p.hourly = p.daily = p.weekly = p.monthly = p.yearly = 0;
  p.min_age = std::chrono::milliseconds(0);
  return p;
}

class ExpireTest : public test::RepoTestBase {
 protected:
  void SetUp() override {
    Repository::create(store_, "main", kPassphrase, kDefaultBlockBytes, kDefaultPackTargetBytes);
    auto s = std::make_unique<storage::FaultyStorage>(store_);
    stopping_ = s.get();
    repo_.emplace(Repository::open(std::move(s), "main", kPassphrase, "test"));
  }

  std::string pack(const std::string& id) {
    put_raw(pack_object(id), as_bytes("pack " + id));
    return id;
  }
  // A snapshot whose manifest declares packs (expire reads declarations, not blocks).
  void snapshot(const std::string& id, const std::string& start_time, std::uint64_t first_segno,
                const std::vector<std::string>& packs, const std::string& system = "7001",
                bool with_info = true) {
    ManifestWriter m(store_, id, repo_->key(), kDefaultBlockBytes);
    for (const auto& p : packs) m.declare_pack(p);
    m.commit();
    if (!with_info) return;
    SnapshotInfo s;
    s.id = id;
    s.cluster_name = "main";
    s.system_identifier = system;
    s.pg_version_num = 150004;
    s.timeline = 1;
    s.start_lsn = s.stop_lsn = "0/0";
    s.start_time = s.stop_time = start_time;
    s.wal_segment_bytes = kSegmentBytes;
    s.first_wal_segment = s.last_wal_segment = "00000001" + std::string(8, '0') + hex8(first_segno);
    s.block_bytes = kDefaultBlockBytes;
    write_snapshot_info(store_, repo_->key(), s);
  }
  static std::string hex8(std::uint64_t v) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08llX", static_cast<unsigned long long>(v));
    return buf;
  }
  void wal(const std::string& name) { put_raw(wal_object(name), as_bytes("wal " + name)); }
  std::set<std::string> objects(const std::string& prefix) {
    std::set<std::string> out;
    for (const auto& o : store_.list(prefix)) out.insert(o.path);
    return out;
  }
  static std::set<std::string> names(const std::vector<RemovedObject>& v) {
    std::set<std::string> out;
    for (const auto& o : v) out.insert(o.name);
    return out;
  }
  ExpireResult expire(bool dry_run = false) {
    ExpireOptions o;
    o.policy = keep_newest_only();
    o.now = *parse_iso8601("2026-02-01T00:00:00Z");
    o.dry_run = dry_run;
    return run_expire(*repo_, o);
  }
  // What every reader relies on: each listed snapshot has its manifest and every pack it declares.
  void expect_valid() {
    for (const auto& s : list_snapshots(store_, repo_->key())) {
      ManifestIndex m(store_, s.id, repo_->key());
      for (std::uint32_t p = 0; p < m.pack_count(); ++p)
        EXPECT_TRUE(store_.stat(pack_object(m.pack_id(p)))) << s.id << " lost pack " << m.pack_id(p);
    }
  }

  // Three snapshots (keep C only), a pack shared by all, an orphan pack, a manifest without info,
  // and WAL on two timelines around C's start (segment 8).
  void build() {
    const std::string shared = pack(std::string(32, 'a'));
    pack_a_ = pack(std::string(31, 'b') + "1");
    pack_b_ = pack(std::string(31, 'c') + "2");
    pack_c_ = pack(std::string(31, 'd') + "3");
    orphan_ = pack(std::string(31, 'e') + "4");
    shared_ = shared;
    snapshot(a_, "2026-01-01T10:00:00.000Z", 2, {shared, pack_a_});
    snapshot(b_, "2026-01-02T10:00:00.000Z", 5, {shared, pack_b_});
    snapshot(c_, "2026-01-03T10:00:00.000Z", 8, {pack_c_, shared});
    snapshot(dead_, "2026-01-04T10:00:00.000Z", 9, {pack_c_}, "7001", false);
    for (int seg = 1; seg <= 10; ++seg) wal("00000001" + std::string(8, '0') + hex8(seg));
    for (const char* n : {"000000010000000000000004.partial", "00000002.history",
                          "000000010000000000000003.00000028.backup", "000000020000000000000006",
                          "00000002000000000000000A"})
      wal(n);
  }

  storage::FaultyStorage* stopping_ = nullptr;
  std::optional<Repository> repo_;
  const std::string a_ = "20260101T100000.000Z-aaaa", b_ = "20260102T100000.000Z-bbbb",
                    c_ = "20260103T100000.000Z-cccc", dead_ = "20260104T100000.000Z-dddd";
  std::string shared_, pack_a_, pack_b_, pack_c_, orphan_;
};

TEST_F(ExpireTest, RemovesExactlyWhatNoKeptSnapshotNeedsInOrder) {
  build();
  // Block summaries beside two segments: one older than every kept snapshot, one needed.
  const std::string old_summary = summary_object("000000010000000000000006");
  const std::string kept_summary = summary_object("000000010000000000000009");
  put_raw(old_summary, as_bytes("summary 6"));
  put_raw(kept_summary, as_bytes("summary 9"));
  const std::set<std::string> packs_before = objects("packs"), wal_before = objects("wal");
  ExpireResult dry = expire(true);
  EXPECT_EQ(objects("packs"), packs_before);  // a dry run removes nothing
  EXPECT_EQ(objects("wal"), wal_before);
  EXPECT_EQ(list_snapshots(store_, repo_->key()).size(), 3u);

  ExpireResult r = expire();
  ASSERT_EQ(r.snapshots.size(), 3u);
  EXPECT_FALSE(r.snapshots[0].keep);
  EXPECT_FALSE(r.snapshots[1].keep);
  EXPECT_TRUE(r.snapshots[2].keep);
  EXPECT_EQ(r.snapshots[2].reasons, (std::vector<std::string>{"newest"}));
  // Infos, oldest first, then their manifests, then the manifest left without info.
  std::vector<std::string> order;
  for (const auto& o : r.snapshot_objects) order.push_back(o.name);
  EXPECT_EQ(order, (std::vector<std::string>{"snapshots/" + a_ + ".info", "snapshots/" + b_ + ".info",
                                             "snapshots/" + a_ + ".manifest", "snapshots/" + b_ + ".manifest",
                                             "snapshots/" + dead_ + ".manifest"}));
  // One bulk removal per step, in the crash-safe order, never two steps in one call.
  auto in_order = [](const std::vector<RemovedObject>& v) {
    std::vector<std::string> out;
    for (const auto& o : v) out.push_back(o.name);
    return out;
  };
  EXPECT_EQ(stopping_->remove_many_calls(),
            (std::vector<std::vector<std::string>>{
                {"snapshots/" + a_ + ".info", "snapshots/" + b_ + ".info"},
                {"snapshots/" + a_ + ".manifest", "snapshots/" + b_ + ".manifest", "snapshots/" + dead_ + ".manifest"},
                in_order(r.packs),
                [&] {  // segments and their summaries in one step
                  auto v = in_order(r.wal);
                  v.push_back(old_summary);
                  return v;
                }()}));
  EXPECT_EQ(names(r.packs), (std::set<std::string>{pack_object(pack_a_), pack_object(pack_b_), pack_object(orphan_)}));
  EXPECT_EQ(r.packs_kept, 2u);
  EXPECT_EQ(r.oldest_wal_needed, "000000010000000000000008");
  std::set<std::string> wal_removed;
  for (int seg = 1; seg <= 7; ++seg) wal_removed.insert(wal_object("00000001" + std::string(8, '0') + hex8(seg)));
  wal_removed.insert(wal_object("000000010000000000000004.partial"));
  wal_removed.insert(wal_object("000000020000000000000006"));
  EXPECT_EQ(names(r.wal), wal_removed);
  EXPECT_EQ(names(r.wal_summaries), std::set<std::string>{old_summary});
  wal_removed.insert(old_summary);

  EXPECT_EQ(objects("packs"), (std::set<std::string>{pack_object(shared_), pack_object(pack_c_)}));
  EXPECT_EQ(objects("snapshots"),
            (std::set<std::string>{"snapshots/" + c_ + ".info", "snapshots/" + c_ + ".manifest"}));
  std::set<std::string> wal_left;
  std::set_difference(wal_before.begin(), wal_before.end(), wal_removed.begin(), wal_removed.end(),
                      std::inserter(wal_left, wal_left.end()));
  EXPECT_EQ(objects("wal"), wal_left);
  EXPECT_TRUE(wal_left.count(wal_object("00000002.history")));
  EXPECT_TRUE(wal_left.count(kept_summary));
  EXPECT_TRUE(wal_left.count(wal_object("000000010000000000000003.00000028.backup")));
  EXPECT_FALSE(store_.stat("locks/writer"));

  // The dry run had decided the same, and freed is the sum of what went.
  EXPECT_EQ(names(dry.packs), names(r.packs));
  EXPECT_EQ(names(dry.wal), names(r.wal));
  EXPECT_EQ(dry.bytes_removed, r.bytes_removed);
  std::uint64_t sum = 0;
  for (const auto* l : {&r.snapshot_objects, &r.packs, &r.wal, &r.wal_summaries})
    for (const auto& o : *l) sum += o.size_bytes;
  EXPECT_EQ(r.bytes_removed, sum);
  EXPECT_GT(sum, 0u);
  // The packs C needs that A and B had written now belong to C's info: no later backup takes them
  // for orphans. Only that info was rewritten, and freed accounts for its new size.
  EXPECT_EQ(r.infos_rewritten, std::vector<std::string>{c_});
  EXPECT_EQ(find_snapshot(store_, repo_->key(), c_).packs, (std::vector<std::string>{pack_c_, shared_}));
  EXPECT_EQ(r.bytes_freed, static_cast<std::int64_t>(r.bytes_removed + r.bytes_replaced) -
                               static_cast<std::int64_t>(r.bytes_written));
  EXPECT_GT(r.bytes_written, 0u);
  EXPECT_TRUE(r.repacked.empty() && r.repack_written.empty() && r.manifests_rewritten.empty());

  ExpireResult again = expire();
  EXPECT_EQ(again.bytes_freed, 0);
  EXPECT_TRUE(again.infos_rewritten.empty());
  EXPECT_TRUE(again.packs.empty() && again.wal.empty() && again.wal_summaries.empty() &&
              again.snapshot_objects.empty());
}

TEST_F(ExpireTest, AnExpireStoppedAfterAnyRemovalLeavesAValidRepositoryAndTheNextFinishes) {
  build();
  int stops = 0;
  for (;;) {
    stopping_->interrupt_after_changes(1, false);  // each run removes one object more, then stops
    try {
      expire();
      break;
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::interrupted) << e.what();
      ++stops;
    }
    EXPECT_FALSE(store_.stat("locks/writer")) << "the lock outlived an interrupted expire";
    expect_valid();
    auto listed = list_snapshots(store_, repo_->key());
    ASSERT_FALSE(listed.empty());
    EXPECT_EQ(listed.back().id, c_);
    ASSERT_LT(stops, 100);
  }
  EXPECT_GE(stops, 10);
  EXPECT_EQ(objects("packs"), (std::set<std::string>{pack_object(shared_), pack_object(pack_c_)}));
  EXPECT_EQ(objects("snapshots"),
            (std::set<std::string>{"snapshots/" + c_ + ".info", "snapshots/" + c_ + ".manifest"}));
  expect_valid();
}

TEST_F(ExpireTest, ADamagedInfoStopsExpireBeforeAnyRemoval) {
  build();
  flip_byte("snapshots/" + b_ + ".info", 20);
  const auto before = objects("");
  Error e = error_of([&] { expire(); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(test::contains(e.what(), "unable to expire repository 'main': corrupt object snapshots/" + b_ + ".info"))
      << e.what();
  EXPECT_TRUE(test::contains(e.hint(), "nothing was removed")) << e.hint();
  EXPECT_EQ(objects(""), before);
}

TEST_F(ExpireTest, AMissingManifestOfAKeptSnapshotStopsExpireBeforeAnyRemoval) {
  build();
  store_.remove("snapshots/" + c_ + ".manifest");
  const auto before = objects("");
  Error e = error_of([&] { expire(); });
  EXPECT_TRUE(test::contains(e.what(), "unable to expire repository 'main': ")) << e.what();
  EXPECT_EQ(objects(""), before);
}

TEST_F(ExpireTest, SnapshotsOfTwoClustersEachKeepTheirNewestAndWalIsLeftAlone) {
  build();
  snapshot("20260101T000000.000Z-ffff", "2026-01-01T00:00:00.000Z", 1, {pack_a_}, "7002");
  const auto wal_before = objects("wal");
  ExpireResult r = expire();
  ASSERT_EQ(r.snapshots.size(), 4u);
  EXPECT_TRUE(r.snapshots[0].keep);  // the other cluster's only snapshot
  EXPECT_TRUE(r.wal.empty());
  EXPECT_EQ(r.wal_note, "snapshots of several clusters: archived WAL left alone");
  EXPECT_EQ(objects("wal"), wal_before);
  EXPECT_TRUE(store_.stat(pack_object(pack_a_)));  // needed by the other cluster's snapshot
}

TEST_F(ExpireTest, ExpireWaitsForTheLockOnlyAsLongAsItIsTold) {
  build();
  RepoLock held = RepoLock::acquire(store_, "main", "backup");
  Error e = error_of([&] { expire(); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_TRUE(test::contains(e.what(), "repository 'main' is locked by backup")) << e.what();
  EXPECT_EQ(list_snapshots(store_, repo_->key()).size(), 3u);
}

}  // namespace
}  // namespace pgdr::repo
