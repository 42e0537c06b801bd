// The one reader of blocks from packs, on real packs and manifests behind a counting storage:
// neighbouring frames fetched in one ranged get (and no more than kMaxCoalescedRead at once), zero
// and skipped blocks, every check a damaged repository trips, and the exact message of each.
#include "repo/block_reader.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/little_endian.h"
#include "io/aead.h"
#include "io/sha256.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo_test_support.h"
#include "storage/faulty_storage.h"

namespace pgdr::repo {
namespace {

using test::error_of;
using test::random_data;

constexpr std::uint32_t kBlock = 8192;
constexpr std::string_view kSnapshot = "20260101T000000.000Z-abcd";
constexpr std::string_view kFile = "base/1/100";

class BlockReaderTest : public test::RepoTestBase {
 protected:
  // A pack of frames, each of blocks_per_frame random blocks, stored as they are (random data
  // does not compress), so frame lengths are predictable.
  struct Pack {
    std::string id;
    std::vector<std::vector<BlockRef>> frames;  // per frame, a ref per block (pack number unset)
    std::vector<Bytes> blocks;                  // every block, frame after frame
  };
  Pack write_pack(std::size_t frames, std::size_t blocks_per_frame, std::uint32_t seed) {
    Pack p;
    p.id = new_pack_id();
    auto written = test::write_random_pack(store_, key_, codec_, p.id, 0, frames, blocks_per_frame, seed, kBlock);
    p.frames = std::move(written.frames);
    p.blocks = std::move(written.blocks);
    return p;
  }

  // A pack of one frame sealed with the id of other content: it opens and names its block, but
  // the block's HMAC is not that id.
  Pack write_mislabelled_pack() {
    Pack p;
    p.id = new_pack_id();
    p.blocks.push_back(random_data(kBlock, 1));
    PackWriter w(store_, key_, p.id, kBlock);
    std::vector<BlockRef> refs;
    for (const PackEntry& e : w.add_frame(codec_, {codec_.id_of(random_data(kBlock, 2))}, p.blocks[0]))
      refs.push_back({e.id, 0, e.offset, e.length, e.index});
    w.commit();
    p.frames.push_back(std::move(refs));
    return p;
  }

  // A manifest holding one file whose blocks are refs (pack numbers: the order packs are given).
  // The reader checks blocks against the ids its caller hands it (a manifest's own since version
  // 4 come from the trailers, repo/trailer_ids.h): refs' ids, so that a test can name a wrong one.
  void write_manifest(const std::vector<const Pack*>& packs, std::vector<BlockRef> refs) {
    std::vector<std::string> ids;
    for (const Pack* p : packs) ids.push_back(p->id);
    test::write_one_file_manifest(store_, key_, std::string(kSnapshot), ids, std::string(kFile), refs, kBlock);
    manifest_ = std::make_unique<ManifestIndex>(store_, std::string(kSnapshot), key_);
    refs_ = manifest_->locations(manifest_->entries().front());
    for (std::size_t i = 0; i < refs_.size(); ++i) refs_[i].id = refs[i].id;
  }
  static BlockRef in_pack(BlockRef r, std::uint32_t pack_no) {
    r.pack = pack_no;
    return r;
  }

  BlockRead request(const std::vector<bool>* skip = nullptr) const {
    BlockRead r;
    r.manifest = manifest_.get();
    r.refs = refs_;
    r.bytes = refs_.size() * kBlock;
    r.skip = skip;
    r.first_block = 0;
    r.file = kFile;
    r.snapshot = kSnapshot;
    return r;
  }
  // Reads every block of the file; out and digests are resized to fit.
  void read_all(BlockReader& reader, Bytes& out, std::vector<io::Digest>& digests,
                const std::vector<bool>* skip = nullptr) {
    out.resize(refs_.size() * kBlock);
    digests.resize(refs_.size());
    reader.read_blocks(request(skip), out.data(), digests);
  }
  std::string where() const { return store_.describe(); }

  BlockCodec codec_{key_, io::Codec::none, 0};
  storage::FaultyStorage counted_{store_};
  std::unique_ptr<ManifestIndex> manifest_;
  std::vector<BlockRef> refs_;
};

TEST_F(BlockReaderTest, NeighbouringFramesOfAPackAreReadInOneRangedGet) {
  Pack a = write_pack(3, 4, 1), b = write_pack(1, 2, 100);
  // The file: b's frame, then a's frames 2, 0 and 1 (neighbours in a, not in the file), a zero
  // block, and a block of a's frame 0 again.
  std::vector<BlockRef> refs;
  for (const auto& r : b.frames[0]) refs.push_back(in_pack(r, 1));
  for (int f : {2, 0, 1})
    for (const auto& r : a.frames[f]) refs.push_back(in_pack(r, 0));
  refs.push_back(BlockRef{});
  refs.push_back(in_pack(a.frames[0][3], 0));
  write_manifest({&a, &b}, refs);

  BlockReader reader(counted_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  read_all(reader, out, digests);
  EXPECT_EQ(counted_.counts().read_range, 2u) << "one get for a's three frames, one for b's";
  EXPECT_TRUE(reader.object_in_hand().empty());

  std::vector<Bytes> expected = {b.blocks[0], b.blocks[1]};
  for (std::size_t f : {2u, 0u, 1u})
    for (std::size_t k = 0; k < 4; ++k) expected.push_back(a.blocks[f * 4 + k]);
  expected.push_back(Bytes(kBlock, 0));
  expected.push_back(a.blocks[3]);
  ASSERT_EQ(refs_.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(std::equal(expected[i].begin(), expected[i].end(), out.begin() + static_cast<std::ptrdiff_t>(i * kBlock)))
        << "block " << i;
    EXPECT_EQ(digests[i], io::Sha256::of(expected[i])) << "block " << i;
  }
}

TEST_F(BlockReaderTest, OneRangedGetReadsNoMoreThanTheCap) {
  // 70 frames of 16 blocks (128 KiB each, and their seals): more than 8 MiB of neighbours.
  Pack a = write_pack(70, kMaxFrameBlocks, 1);
  std::vector<BlockRef> refs;
  for (const auto& frame : a.frames)
    for (const auto& r : frame) refs.push_back(in_pack(r, 0));
  write_manifest({&a}, refs);
  const std::uint64_t frame_bytes = a.frames[0][0].length;
  const std::uint64_t per_get = kMaxCoalescedRead / frame_bytes;
  ASSERT_LT(per_get, 70u);

  BlockReader reader(counted_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  read_all(reader, out, digests);
  EXPECT_EQ(counted_.counts().read_range, (70 + per_get - 1) / per_get);
  for (std::size_t i = 0; i < a.blocks.size(); ++i) EXPECT_EQ(digests[i], io::Sha256::of(a.blocks[i])) << i;
}

TEST_F(BlockReaderTest, SkippedBlocksAreLeftAsPlacedAndTheirFramesNotRead) {
  Pack a = write_pack(1, 2, 1), b = write_pack(1, 2, 100);
  std::vector<BlockRef> refs = {in_pack(a.frames[0][0], 0), in_pack(b.frames[0][0], 1), in_pack(b.frames[0][1], 1)};
  write_manifest({&a, &b}, refs);
  std::vector<bool> skip = {false, true, true};
  Bytes out(refs.size() * kBlock, 0x5a);
  std::vector<io::Digest> digests(refs.size());
  BlockReader reader(counted_, key_, where());
  reader.read_blocks(request(&skip), out.data(), digests);
  EXPECT_EQ(counted_.counts().read_range, 1u) << "b is not read at all";
  EXPECT_TRUE(std::equal(a.blocks[0].begin(), a.blocks[0].end(), out.begin()));
  EXPECT_TRUE(std::all_of(out.begin() + kBlock, out.end(), [](std::uint8_t c) { return c == 0x5a; }));
  EXPECT_EQ(digests[1], io::Sha256::of(Bytes(kBlock, 0x5a)));
}

TEST_F(BlockReaderTest, ADamagedFrameIsNamedByItsPackAndOffset) {
  Pack a = write_pack(3, 2, 1);
  std::vector<BlockRef> refs;
  for (const auto& frame : a.frames)
    for (const auto& r : frame) refs.push_back(in_pack(r, 0));
  write_manifest({&a}, refs);
  const std::uint32_t offset = a.frames[1][0].offset;
  flip_byte(pack_object(a.id), offset + 40);

  BlockReader reader(store_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  try {
    read_all(reader, out, digests);
    FAIL() << "no error";
  } catch (const CorruptPack& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(a.id) + " in " + where() + " (frame at offset " +
                                         std::to_string(offset) + ": frame: authentication failed, needed by " +
                                         std::string(kFile) + ")");
    EXPECT_EQ(e.object(), pack_object(a.id));
    EXPECT_EQ(e.detail(), "frame at offset " + std::to_string(offset) + ": frame: authentication failed, needed by " +
                              std::string(kFile));
  }
  EXPECT_EQ(reader.object_in_hand(), pack_object(a.id));
}

TEST_F(BlockReaderTest, AMissingPackIsNamedWithTheFileThatNeedsIt) {
  Pack a = write_pack(1, 2, 1);
  write_manifest({&a}, {in_pack(a.frames[0][0], 0)});
  store_.remove(pack_object(a.id));
  BlockReader reader(store_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  Error e = error_of([&] { read_all(reader, out, digests); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()), "missing pack " + pack_object(a.id) + " needed by " + std::string(kFile) +
                                       " of snapshot " + std::string(kSnapshot) + " in " + where());
  EXPECT_EQ(reader.object_in_hand(), pack_object(a.id));
}

TEST_F(BlockReaderTest, ATruncatedPackFailsWithTheStoragesWordsAndNamesThePack) {
  Pack a = write_pack(2, 2, 1);
  write_manifest({&a}, {in_pack(a.frames[1][0], 0)});
  counted_.truncate_reads(pack_object(a.id), a.frames[1][0].offset + 10);
  BlockReader reader(counted_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  Error e = error_of([&] { read_all(reader, out, digests); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(test::contains(e.what(), "object truncated: ")) << e.what();
  EXPECT_EQ(reader.object_in_hand(), pack_object(a.id));
}

TEST_F(BlockReaderTest, AFrameThatDoesNotHoldTheBlockIsDamage) {
  Pack a = write_pack(1, 2, 1);
  BlockRef wrong_index = in_pack(a.frames[0][1], 0);
  wrong_index.index = 5;
  write_manifest({&a}, {wrong_index});
  BlockReader reader(store_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  Error e = error_of([&] { read_all(reader, out, digests); });
  EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(a.id) + " in " + where() + " (frame at offset " +
                                       std::to_string(wrong_index.offset) + ": does not hold the block " +
                                       std::string(kFile) + " needs)");
  EXPECT_EQ(reader.object_in_hand(), pack_object(a.id));
}

TEST_F(BlockReaderTest, ABlockOtherThanTheOneNamedIsRefusedByItsId) {
  // Frames name no blocks: a manifest naming another block at a real frame's index finds out by
  // hashing what the frame holds there.
  Pack a = write_pack(1, 2, 1);
  BlockRef wrong_id = in_pack(a.frames[0][1], 0);
  wrong_id.id = codec_.id_of(random_data(kBlock, 999));
  write_manifest({&a}, {wrong_id});
  BlockReader reader(store_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  Error e = error_of([&] { read_all(reader, out, digests); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "block 0 of " + std::string(kFile) + " in snapshot " + std::string(kSnapshot) +
                                       " in " + where() + " does not match its id (repository damaged?)");
  EXPECT_EQ(reader.object_in_hand(), pack_object(a.id));
}

TEST_F(BlockReaderTest, AFrameMovedToAnotherPlaceDoesNotOpen) {
  // A frame's AAD names its pack and offset: authentic bytes copied to another offset of the same
  // pack, or to the same offset of another pack, are refused before anything is decoded.
  Pack a = write_pack(2, 2, 1);
  Pack b = write_pack(2, 2, 100);
  const BlockRef first = a.frames[0][0];
  const BlockRef second = a.frames[1][0];
  ASSERT_EQ(first.length, second.length);  // random blocks are stored as they are
  Bytes a_bytes = raw(pack_object(a.id));
  Bytes b_bytes = raw(pack_object(b.id));
  const Bytes a_frame(a_bytes.begin() + first.offset, a_bytes.begin() + first.offset + first.length);
  std::copy(a_frame.begin(), a_frame.end(), a_bytes.begin() + second.offset);
  std::copy(a_frame.begin(), a_frame.end(), b_bytes.begin() + first.offset);
  put_raw(pack_object(a.id), a_bytes);
  put_raw(pack_object(b.id), b_bytes);
  struct Case {
    const Pack* pack;
    BlockRef ref;
  };
  for (const Case& c : {Case{&a, second}, Case{&b, b.frames[0][0]}}) {
    write_manifest({c.pack}, {in_pack(c.ref, 0)});
    BlockReader reader(store_, key_, where());
    Bytes out;
    std::vector<io::Digest> digests;
    Error e = error_of([&] { read_all(reader, out, digests); });
    EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(c.pack->id) + " in " + where() +
                                         " (frame at offset " + std::to_string(c.ref.offset) +
                                         ": frame: authentication failed, needed by " + std::string(kFile) + ")");
  }
  // Where it was written, the frame still opens.
  write_manifest({&a}, {in_pack(first, 0)});
  BlockReader reader(store_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  read_all(reader, out, digests);
  EXPECT_EQ(out, a.blocks[0]);
}

TEST_F(BlockReaderTest, AFrameOfAPackOfAnotherFormatSaysSo) {
  // A pack as development builds wrote them (format version 1): the frame sealed with the bare
  // frame prefix as AAD and the block ids inside, a tail stating version 1. Its frame does not
  // open here, and the message says why rather than only "authentication failed".
  const Bytes block = random_data(kBlock, 7);
  const BlockId id = codec_.id_of(block);
  Bytes plain{0 /* codec none */, 1 /* count */};
  put_u32le(plain, kBlock);
  plain.insert(plain.end(), id.begin(), id.end());
  plain.insert(plain.end(), block.begin(), block.end());
  Bytes pack;
  io::Aead(key_.data_key().view()).seal(plain, to_bytes(kAadFrame), pack);
  const auto frame_bytes = static_cast<std::uint32_t>(pack.size());
  put_u32le(pack, 0);  // trailer length: no trailer, which restore does not read anyway
  put_u32le(pack, 1);
  for (char c : std::string_view("PGDRPACK")) pack.push_back(static_cast<std::uint8_t>(c));
  Pack old;
  old.id = new_pack_id();
  put_raw(pack_object(old.id), pack);
  EXPECT_EQ(pack_version(store_, old.id), std::optional<std::uint32_t>(1));
  write_manifest({&old}, {BlockRef{id, 0, 0, frame_bytes, 0}});

  BlockReader reader(store_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  Error e = error_of([&] { read_all(reader, out, digests); });
  EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(old.id) + " in " + where() +
                                       " (frame at offset 0: frame: authentication failed, needed by " +
                                       std::string(kFile) + "; the pack has format version 1, this pgdr reads version 3)");
}

TEST_F(BlockReaderTest, ABlockWhoseContentIsNotItsIdIsRefused) {
  Pack a = write_mislabelled_pack();
  BlockRef zero;
  write_manifest({&a}, {zero, a.frames[0][0]});
  BlockReader reader(store_, key_, where());
  Bytes out;
  std::vector<io::Digest> digests;
  Error err = error_of([&] { read_all(reader, out, digests); });
  EXPECT_EQ(err.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(err.what()), "block 1 of " + std::string(kFile) + " in snapshot " + std::string(kSnapshot) +
                                         " in " + where() + " does not match its id (repository damaged?)");
  EXPECT_EQ(reader.object_in_hand(), pack_object(a.id));
}

TEST_F(BlockReaderTest, WithoutIdsABlockIsReadAndHashedButNotChecked) {
  // Restore reads the blocks of a pack whose trailer is damaged without their ids and proves
  // them by their file's digest: the reader hands back the content and its SHA-256.
  Pack a = write_mislabelled_pack();
  write_manifest({&a}, {BlockRef{}, a.frames[0][0]});
  BlockReader reader(store_, key_, where());
  BlockRead read = request();
  read.ids_known = false;
  Bytes out(2 * kBlock);
  std::vector<io::Digest> digests(2);
  reader.read_blocks(read, out.data(), digests);
  EXPECT_EQ(Bytes(out.begin() + kBlock, out.end()), a.blocks[0]);
  EXPECT_EQ(digests[1], io::Sha256::of(a.blocks[0]));
  EXPECT_EQ(Bytes(out.begin(), out.begin() + kBlock), Bytes(kBlock, 0));
}

TEST_F(BlockReaderTest, AuthenticationAloneDoesNotProveABlocksContentIsItsId) {
  // What verify leaves to the run that first proved a pack: a frame sealed (with the key) around
  // content that is not its id authenticates, and only decoding it finds that.
  Pack a = write_mislabelled_pack();
  BlockReader reader(store_, key_, where());
  Bytes bytes = raw(pack_object(a.id));
  WholePack pack = reader.whole_pack(a.id, bytes);
  ASSERT_EQ(pack.entries.size(), 1u);
  EXPECT_NO_THROW(reader.authenticated_frame(pack, pack.entries, kBlock));
  Error e = error_of([&] { reader.proven_frame(pack, pack.entries, kBlock); });
  EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(a.id) + " in " + where() + " (frame at offset " +
                                       std::to_string(pack.entries[0].offset) + ": block 0 does not match its id)");
}

TEST_F(BlockReaderTest, AWholePackProvesEveryFrameAndNamesADamagedOne) {
  Pack a = write_pack(3, 3, 1);
  BlockReader reader(store_, key_, where());
  Bytes bytes = raw(pack_object(a.id));
  WholePack pack = reader.whole_pack(a.id, bytes);
  ASSERT_EQ(pack.entries.size(), 9u);
  for (std::size_t f = 0; f < 3; ++f) {
    std::span<const PackEntry> frame(pack.entries.data() + 3 * f, 3);
    auto digests = reader.proven_frame(pack, frame, kBlock);
    ASSERT_EQ(digests.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(digests[k], io::Sha256::of(a.blocks[3 * f + k]));
    EXPECT_NO_THROW(reader.authenticated_frame(pack, frame, kBlock));
  }
  // The copy path: the blocks of a frame a manifest names.
  auto listed = reader.listed_frame(pack, a.frames[2][0].offset, a.frames[2][0].length);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[2].id, a.frames[2][2].id);

  const std::uint32_t offset = a.frames[1][0].offset;
  bytes[offset + 50] ^= 0xff;
  std::span<const PackEntry> frame(pack.entries.data() + 3, 3);
  const std::string why = "frame at offset " + std::to_string(offset) + ": frame: authentication failed";
  try {
    reader.proven_frame(pack, frame, kBlock);
    FAIL() << "no error";
  } catch (const CorruptPack& e) {
    EXPECT_EQ(e.detail(), why);
    EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(a.id) + " in " + where() + " (" + why + ")");
  }
  // Authentication alone finds any changed byte of a frame.
  try {
    reader.authenticated_frame(pack, frame, kBlock);
    FAIL() << "no error";
  } catch (const CorruptPack& e) {
    EXPECT_EQ(e.detail(), why);
  }
  Error copy = error_of([&] { reader.listed_frame(pack, offset, a.frames[1][0].length); });
  EXPECT_EQ(std::string(copy.what()), "corrupt pack " + pack_object(a.id) + " in " + where() + " (" + why + ")");
}

TEST_F(BlockReaderTest, AFrameTheTrailerDoesNotListIsNotCopied) {
  Pack a = write_pack(2, 2, 1);
  BlockReader reader(store_, key_, where());
  Bytes bytes = raw(pack_object(a.id));
  WholePack pack = reader.whole_pack(a.id, bytes);
  const std::uint32_t offset = a.frames[1][0].offset;
  Error e = error_of([&] { reader.listed_frame(pack, offset, a.frames[1][0].length + 1); });
  EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(a.id) + " in " + where() + " (frame at offset " +
                                       std::to_string(offset) +
                                       ": a kept snapshot refers to it, the trailer does not list it)");
}

TEST_F(BlockReaderTest, TrailerAndFrameMustAgreeOnTheBlocks) {
  Pack a = write_pack(2, 2, 1);
  BlockReader reader(store_, key_, where());
  Bytes bytes = raw(pack_object(a.id));
  WholePack pack = reader.whole_pack(a.id, bytes);
  const std::string prefix = "frame at offset " + std::to_string(a.frames[0][0].offset) + ": ";
  auto why = [&](bool decode, std::vector<PackEntry> frame) {
    try {
      if (decode) reader.proven_frame(pack, frame, kBlock);
      else reader.authenticated_frame(pack, frame, kBlock);
    } catch (const CorruptPack& e) {
      return e.detail();
    }
    return std::string("<none>");
  };
  // Proven or only authenticated, a frame and its trailer entries must agree.
  std::vector<PackEntry> frame(pack.entries.begin(), pack.entries.begin() + 2);
  for (bool decode : {true, false}) {
    SCOPED_TRACE(decode ? "proven" : "authenticated");
    EXPECT_EQ(why(decode, frame), "<none>");
    EXPECT_EQ(why(decode, {frame[0]}), prefix + "frame holds 2 blocks, the trailer lists 1");
    EXPECT_EQ(why(decode, {frame[1], frame[0]}), prefix + "trailer lists the frame's blocks out of order");
    auto short_block = frame;
    short_block[1].raw_length = 100;
    EXPECT_EQ(why(decode, short_block), prefix + "block 1 has the wrong length");
    auto empty = frame;
    empty[0].length = 0;
    EXPECT_EQ(why(decode, empty), prefix + "frame beyond the pack");
  }
  // The trailer is where ids are kept: decoding checks the content against them; authentication
  // leaves that to the run that first proved the frame (see the test above).
  auto other_id = frame;
  other_id[0].id = a.frames[1][0].id;
  EXPECT_EQ(why(true, other_id), prefix + "block 0 does not match its id");
  EXPECT_EQ(why(false, other_id), "<none>");

  pack.entries.erase(pack.entries.begin() + 1);
  Error e = error_of([&] { reader.listed_frame(pack, a.frames[0][0].offset, a.frames[0][0].length); });
  EXPECT_EQ(std::string(e.what()), "corrupt pack " + pack_object(a.id) + " in " + where() + " (" + prefix +
                                       "the trailer and the frame disagree on its blocks)");
}

TEST_F(BlockReaderTest, ADamagedTrailerCarriesItsReasonApart) {
  Pack a = write_pack(1, 2, 1);
  Bytes bytes = raw(pack_object(a.id));
  bytes[bytes.size() - 20] ^= 0xff;  // inside the sealed trailer
  BlockReader reader(store_, key_, where());
  try {
    reader.whole_pack(a.id, bytes);
    FAIL() << "no error";
  } catch (const CorruptPack& e) {
    EXPECT_EQ(e.detail(), "trailer fails authentication");
    EXPECT_EQ(std::string(e.what()),
              "corrupt pack " + pack_object(a.id) + " in " + where() + " (trailer fails authentication)");
  }
}

TEST(FrameDamageTest, IsTheOneMessageOfADamagedFrame) {
  CorruptPack e = frame_damage("0123456789abcdef0123456789abcdef", "repository 'a' (local directory /r)", 4096, "why");
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()),
            "corrupt pack packs/01/0123456789abcdef0123456789abcdef in repository 'a' (local directory /r) (frame at "
            "offset 4096: why)");
  EXPECT_EQ(e.object(), "packs/01/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(e.detail(), "frame at offset 4096: why");
}

}  // namespace
}  // namespace pgdr::repo
