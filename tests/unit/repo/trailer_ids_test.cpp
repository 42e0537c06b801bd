// Version 4 manifests name no blocks: ManifestIndex::blocks() takes each id from the trailer of
// the pack that holds the block (repo/trailer_ids.h). On real packs: the ids are the trailer's
// (and the blocks' HMACs), whatever the budget of trailers kept; a reference the trailer does not
// list and a missing pack are refused with messages that name them.
#include "repo/trailer_ids.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::error_of;

constexpr std::uint32_t kBlock = 8192;
const std::string kSnapshot = "20260101T000000.000Z-0a0b";

class TrailerIdsTest : public test::RepoTestBase {
 protected:
  // The refs of a new pack's blocks (pack number pack_no), frame after frame.
  std::vector<BlockRef> write_pack(const std::string& pack_id, std::uint32_t pack_no, std::size_t frames,
                                   std::size_t per_frame, std::uint32_t seed) {
    return test::write_random_pack(store_, key_, codec_, pack_id, pack_no, frames, per_frame, seed, kBlock).refs();
  }
  void write_manifest(const std::vector<std::string>& packs, const std::vector<BlockRef>& refs) {
    test::write_one_file_manifest(store_, key_, kSnapshot, packs, "base/1/100", refs, kBlock);
  }
  std::string corrupt(const std::string& why) const {
    return "corrupt manifest of snapshot " + kSnapshot + " in " + store_.describe() + " (" + why + ")";
  }

  BlockCodec codec_{key_, io::Codec::zstd, 1};
};

// Blocks of two packs, interleaved frame by frame as two backup workers' files can be, and zero
// blocks between them.
std::vector<BlockRef> interleave(const std::vector<BlockRef>& a, const std::vector<BlockRef>& b, std::size_t per_frame) {
  std::vector<BlockRef> out;
  for (std::size_t i = 0; i < a.size() || i < b.size(); i += per_frame) {
    for (std::size_t k = i; k < i + per_frame && k < a.size(); ++k) out.push_back(a[k]);
    out.push_back(BlockRef{});
    for (std::size_t k = i; k < i + per_frame && k < b.size(); ++k) out.push_back(b[k]);
  }
  return out;
}

TEST_F(TrailerIdsTest, IdsComeFromTheTrailersWhateverTheBudget) {
  const std::string p0 = new_pack_id(), p1 = new_pack_id();
  const auto a = write_pack(p0, 0, 5, 3, 1), b = write_pack(p1, 1, 4, 2, 100);
  // Out of the pack's order too: the last block of pack 0 first.
  std::vector<BlockRef> want = interleave(a, b, 2);
  want.insert(want.begin(), a.back());
  write_manifest({p0, p1}, want);

  for (std::size_t budget : {kTrailerIdsBudget, std::size_t{1}}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    ManifestIndex index(store_, kSnapshot, key_, {}, budget);
    ASSERT_EQ(index.version(), 4);
    const auto& e = index.entries().front();
    const auto got = index.blocks(e);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].id, want[i].id) << i;
      EXPECT_EQ(got[i].pack, want[i].pack) << i;
      EXPECT_EQ(got[i].offset, want[i].offset) << i;
    }
    // A slice starting inside a frame.
    const auto slice = index.blocks(e, 3, 4);
    ASSERT_EQ(slice.size(), 4u);
    for (std::size_t i = 0; i < slice.size(); ++i) EXPECT_EQ(slice[i].id, want[3 + i].id) << i;
    // Kept within the budget: each trailer once; one at a time: again at every change of pack.
    if (budget == kTrailerIdsBudget) EXPECT_EQ(index.trailers_read(), 2u);
    else EXPECT_GT(index.trailers_read(), 4u);
    // Locations read no trailer and carry no id.
    const std::uint64_t read = index.trailers_read();
    for (const auto& r : index.locations(e)) EXPECT_EQ(r.id, BlockId{});
    EXPECT_EQ(index.trailers_read(), read);
  }
}

TEST_F(TrailerIdsTest, ThreadsSharingOneIndexGetTheSameIds) {
  const std::string p0 = new_pack_id(), p1 = new_pack_id(), p2 = new_pack_id();
  const auto a = write_pack(p0, 0, 6, 4, 1), b = write_pack(p1, 1, 6, 4, 200), c = write_pack(p2, 2, 3, 8, 400);
  std::vector<BlockRef> refs = interleave(interleave(a, b, 4), c, 5);
  write_manifest({p0, p1, p2}, refs);
  ManifestIndex index(store_, kSnapshot, key_, {}, 1);  // one trailer kept: threads take turns evicting
  const auto& e = index.entries().front();
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (std::size_t t = 0; t < wrong.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (std::uint64_t first = t; first < refs.size(); first += 7) {
          auto got = index.blocks(e, first, 5);
          for (std::size_t i = 0; i < got.size(); ++i) wrong[t] += got[i].id != refs[first + i].id;
        }
    });
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < wrong.size(); ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

TEST_F(TrailerIdsTest, AReferenceItsTrailerDoesNotListIsCorrupt) {
  const std::string p0 = new_pack_id();
  const auto a = write_pack(p0, 0, 3, 2, 7);
  struct Case {
    std::string what;
    BlockRef ref;
  };
  BlockRef moved = a[2], longer = a[2], past = a[3];
  moved.offset += 1;
  longer.length += 1;
  past.index = 2;  // its frame holds 2 blocks
  for (const Case& c : {Case{"offset inside a frame", moved}, Case{"frame length", longer}, Case{"index past the frame", past}}) {
    SCOPED_TRACE(c.what);
    write_manifest({p0}, {a[0], BlockRef{}, c.ref});
    ManifestIndex index(store_, kSnapshot, key_);
    Error err = error_of([&] { index.blocks(index.entries().front()); });
    EXPECT_EQ(err.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(err.what()), corrupt("block 2 of base/1/100 refers to a frame at offset " +
                                               std::to_string(c.ref.offset) + " of pack " + p0 +
                                               " that its trailer does not list"));
    EXPECT_EQ(index.blocks(index.entries().front(), 0, 2)[0].id, a[0].id);  // the blocks before it resolve
  }
}

TEST_F(TrailerIdsTest, AMissingOrDamagedPackIsNamed) {
  const std::string p0 = new_pack_id(), gone = new_pack_id();
  const auto a = write_pack(p0, 0, 2, 2, 9);
  BlockRef lost = a[0];
  lost.pack = 1;
  write_manifest({p0, gone}, {a[1], lost});
  {
    ManifestIndex index(store_, kSnapshot, key_);
    Error err = error_of([&] { index.blocks(index.entries().front()); });
    EXPECT_EQ(err.kind(), ErrorKind::not_found);
    EXPECT_EQ(std::string(err.what()), "missing pack " + pack_object(gone) + " in " + store_.describe());
  }
  // A trailer that fails authentication: the pack is corrupt, whatever its frames hold.
  const Bytes pack = raw(pack_object(p0));
  flip_byte(pack_object(p0), pack.size() - 40);
  ManifestIndex index(store_, kSnapshot, key_);
  Error err = error_of([&] { index.blocks(index.entries().front(), 0, 1); });
  EXPECT_EQ(err.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(test::contains(err.what(), "corrupt pack " + pack_object(p0))) << err.what();
  EXPECT_TRUE(test::contains(err.what(), "trailer fails authentication")) << err.what();
  // Asked again (a restore asks for every slice), the same error, without reading the pack again.
  cut(pack_object(p0), 0);
  Error again = error_of([&] { index.blocks(index.entries().front(), 0, 1); });
  EXPECT_EQ(std::string(again.what()), std::string(err.what()));
}

}  // namespace
}  // namespace pgdr::repo
