#include "repo/block_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "io/aead.h"
#include "io/compress.h"
#include "repo/format.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::concat;
using test::error_of;
using test::mixed_data;
using test::random_data;

constexpr std::size_t kPageBytes = 8192;
constexpr std::size_t kFrameHeadBytes = 6;  // codec u8 | count u8 | raw_length u32le

// An 8 KiB heap page: a header, free space of zeros, tuples at the end.
Bytes page_like(std::uint32_t seed) {
  Bytes page(kPageBytes, 0);
  Bytes tuples = mixed_data(3000, seed);
  std::copy(tuples.begin(), tuples.end(), page.end() - static_cast<std::ptrdiff_t>(tuples.size()));
  page[0] = 0x42;
  for (int i = 0; i < 4; ++i) page[1 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(seed >> (8 * i));
  return page;
}

std::vector<Bytes> pages(std::uint32_t first_seed, std::size_t n) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(page_like(first_seed + static_cast<std::uint32_t>(i)));
  return out;
}

// A frame's plaintext, decoded by hand from the layout in block_codec.h.
struct FramePlain {
  std::uint8_t codec = 0xff;
  std::uint8_t count = 0;
  std::uint32_t raw_length = 0;
  std::vector<BlockId> ids;
  Bytes payload;
};

// The plaintext of a frame as the writer laid it out: codec u8 | count u8 | raw_length u32le | ids | payload.
Bytes frame_plaintext(std::uint8_t codec, std::uint8_t count, std::uint32_t raw_length, const std::vector<BlockId>& ids,
                      ByteView payload) {
  Bytes plain{codec, count};
  for (int i = 0; i < 4; ++i) plain.push_back(static_cast<std::uint8_t>(raw_length >> (8 * i)));
  for (const auto& id : ids) plain.insert(plain.end(), id.begin(), id.end());
  plain.insert(plain.end(), payload.begin(), payload.end());
  return plain;
}

class BlockCodecTest : public test::RepoTestBase {
 protected:
  std::vector<BlockId> ids_of(BlockCodec& codec, const std::vector<Bytes>& blocks) {
    std::vector<BlockId> ids;
    for (const auto& b : blocks) ids.push_back(codec.id_of(b));
    return ids;
  }
  // Opens a sealed frame with the data key directly, bypassing BlockCodec, and decodes its header.
  FramePlain peek(ByteView sealed) {
    io::Aead aead(key_.data_key().view());
    Bytes plain;
    aead.open(sealed, to_bytes(kAadFrame), plain);
    FramePlain f;
    if (plain.size() < kFrameHeadBytes) {
      ADD_FAILURE() << "frame plaintext of " << plain.size() << " bytes";
      return f;
    }
    f.codec = plain[0];
    f.count = plain[1];
    for (int i = 0; i < 4; ++i) f.raw_length |= static_cast<std::uint32_t>(plain[2 + static_cast<std::size_t>(i)]) << (8 * i);
    std::size_t at = kFrameHeadBytes;
    for (std::size_t i = 0; i < f.count && at + 32 <= plain.size(); ++i, at += 32) {
      BlockId id;
      std::copy_n(plain.begin() + static_cast<std::ptrdiff_t>(at), 32, id.begin());
      f.ids.push_back(id);
    }
    f.payload.assign(plain.begin() + static_cast<std::ptrdiff_t>(at), plain.end());
    return f;
  }
  // Seals a plaintext with the real data key and the frame aad: authentic, whatever it says.
  Bytes seal_by_hand(const Bytes& plain) {
    io::Aead aead(key_.data_key().view());
    Bytes sealed;
    aead.seal(plain, to_bytes(kAadFrame), sealed);
    return sealed;
  }
  void expect_corrupt(BlockCodec& codec, const Bytes& sealed, const std::string& message) {
    std::vector<BlockId> ids;
    Bytes out;
    Error e = error_of([&] { codec.open_frame(sealed, ids, out); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), message);
    EXPECT_TRUE(out.empty());
  }
};

TEST_F(BlockCodecTest, RoundTripWithEveryCodec) {
  struct Case {
    std::string what;
    std::vector<Bytes> blocks;
    bool shrinks;  // whether compressing the frame saves space
  };
  std::vector<Bytes> noise16;
  for (std::uint32_t i = 0; i < kMaxFrameBlocks; ++i) noise16.push_back(random_data(kPageBytes, 100 + i));
  std::vector<Bytes> partial = pages(30, 3);
  partial.push_back(mixed_data(1000, 34));  // a file's last block, short
  const std::vector<Case> cases = {
      {"one page", {page_like(1)}, true},
      {"one random block", {random_data(kPageBytes, 2)}, false},
      {"one zero block", {Bytes(kPageBytes, 0)}, true},
      {"one byte", {to_bytes("x")}, false},
      {"16 pages", pages(10, kMaxFrameBlocks), true},
      {"16 random blocks", noise16, false},
      {"3 pages and a partial last block", partial, true},
  };
  for (io::Codec c : {io::Codec::zstd, io::Codec::lz4, io::Codec::none}) {
    BlockCodec codec(key_, c, 3);
    for (const auto& k : cases) {
      SCOPED_TRACE(std::string(io::to_string(c)) + ", " + k.what);
      const std::vector<BlockId> ids = ids_of(codec, k.blocks);
      const Bytes data = concat(k.blocks);
      Bytes sealed;
      codec.seal_frame(ids, data, sealed);

      std::vector<BlockId> got_ids;
      Bytes out;
      codec.open_frame(sealed, got_ids, out);
      EXPECT_EQ(out, data);
      EXPECT_EQ(got_ids, ids);
      // Each block cut back out of the frame still hashes to its id, as restore checks.
      for (std::size_t i = 0; i < k.blocks.size(); ++i) {
        std::size_t at = i * kPageBytes;
        std::size_t len = std::min(kPageBytes, out.size() - at);
        EXPECT_EQ(codec.id_of(ByteView(out.data() + at, len)), got_ids[i]) << "block " << i;
      }

      // The header as the format document lays it out. Incompressible frames are stored as is;
      // compressible ones with the codec asked for.
      FramePlain f = peek(sealed);
      io::Codec expected = (c == io::Codec::none || !k.shrinks) ? io::Codec::none : c;
      EXPECT_EQ(f.codec, static_cast<std::uint8_t>(expected));
      EXPECT_EQ(f.count, k.blocks.size());
      EXPECT_EQ(f.raw_length, data.size());
      EXPECT_EQ(f.ids, ids);
      const std::size_t head = kFrameHeadBytes + 32 * k.blocks.size();
      if (expected == io::Codec::none) {
        EXPECT_EQ(f.payload, data);
        EXPECT_EQ(sealed.size(), head + data.size() + io::kAeadOverheadBytes);
      } else {
        EXPECT_LT(f.payload.size(), data.size());
        EXPECT_LT(sealed.size(), data.size());
      }
    }
  }
}

TEST_F(BlockCodecTest, LargestFrameOpens) {
  // Sixteen blocks of the largest block size (1 MiB): the reader's length bound must admit them.
  BlockCodec codec(key_, io::Codec::lz4, 0);
  const Bytes data = mixed_data(kMaxFrameBlocks << 20, 40);
  std::vector<BlockId> ids;
  for (std::size_t i = 0; i < kMaxFrameBlocks; ++i) ids.push_back(codec.id_of(ByteView(data).subspan(i << 20, 1u << 20)));
  Bytes sealed;
  codec.seal_frame(ids, data, sealed);
  std::vector<BlockId> got_ids;
  Bytes out;
  codec.open_frame(sealed, got_ids, out);
  EXPECT_EQ(got_ids, ids);
  EXPECT_TRUE(out == data);
}

TEST_F(BlockCodecTest, FrameOfNoBlocksOrMoreThanSixteenIsRefusedWhenSealing) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  std::vector<Bytes> blocks = pages(50, kMaxFrameBlocks + 1);
  std::vector<BlockId> ids = ids_of(codec, blocks);
  Bytes data = concat(blocks);
  Bytes sealed;
  Error many = error_of([&] { codec.seal_frame(ids, data, sealed); });
  EXPECT_EQ(many.kind(), ErrorKind::internal);
  EXPECT_EQ(std::string(many.what()), "frame of impossible size");
  Error none = error_of([&] { codec.seal_frame({}, {}, sealed); });
  EXPECT_EQ(none.kind(), ErrorKind::internal);
  EXPECT_EQ(std::string(none.what()), "frame of impossible size");
  EXPECT_TRUE(sealed.empty());
}

TEST_F(BlockCodecTest, SealAndOpenAppendToWhatIsThere) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  std::vector<Bytes> blocks = pages(4, 2);
  std::vector<BlockId> ids = ids_of(codec, blocks);
  Bytes data = concat(blocks);
  Bytes sealed;
  sealed.push_back(0xaa);
  codec.seal_frame(ids, data, sealed);
  EXPECT_EQ(sealed[0], 0xaa);
  Bytes out = to_bytes("prefix");
  std::vector<BlockId> got_ids(5);  // replaced, not appended to
  codec.open_frame(ByteView(sealed).subspan(1), got_ids, out);
  ASSERT_EQ(out.size(), 6 + data.size());
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), to_bytes("prefix"));
  EXPECT_EQ(Bytes(out.begin() + 6, out.end()), data);
  EXPECT_EQ(got_ids, ids);
}

TEST_F(BlockCodecTest, OpenFrameToReusesItsBufferAndChecksTheSame) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  std::vector<Bytes> big = pages(1, 16), small = pages(20, 2);
  std::vector<BlockId> big_ids = ids_of(codec, big), small_ids = ids_of(codec, small);
  Bytes big_sealed, small_sealed;
  codec.seal_frame(big_ids, concat(big), big_sealed);
  codec.seal_frame(small_ids, concat(small), small_sealed);
  Bytes buf;
  std::vector<BlockId> ids;
  // Grown for the large frame, then reused (not shrunk) for the small one.
  ASSERT_EQ(codec.open_frame_to(big_sealed, ids, buf), concat(big).size());
  EXPECT_EQ(ids, big_ids);
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(concat(big).size())), concat(big));
  std::size_t n = codec.open_frame_to(small_sealed, ids, buf);
  ASSERT_EQ(n, concat(small).size());
  EXPECT_EQ(buf.size(), concat(big).size());
  EXPECT_EQ(ids, small_ids);
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)), concat(small));
  // Damage is refused with the message open_frame gives.
  Bytes damaged = small_sealed;
  damaged[damaged.size() / 2] ^= 1;
  Error to = error_of([&] { codec.open_frame_to(damaged, ids, buf); });
  Bytes out;
  Error appended = error_of([&] { codec.open_frame(damaged, ids, out); });
  EXPECT_EQ(to.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(to.what()), std::string(appended.what()));
}

TEST_F(BlockCodecTest, BlockIdsAreKeyedHmacsOfTheBlockDigest) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes page = page_like(5);
  const io::Digest digest = io::Sha256::of(page);
  EXPECT_EQ(codec.digest_of(page), digest);
  BlockId id = codec.id_of(page);
  EXPECT_EQ(id, io::HmacSha256(key_.id_key().view()).of(digest));
  EXPECT_EQ(id, codec.id_of_digest(digest));
  EXPECT_EQ(id, codec.id_of(page));
  EXPECT_NE(id, digest);  // the name reveals nothing without the key
  EXPECT_NE(id, io::HmacSha256(key_.id_key().view()).of(page));
  EXPECT_NE(id, codec.id_of(page_like(6)));

  MasterKey other = MasterKey::generate();
  BlockCodec other_codec(other, io::Codec::zstd, 3);
  EXPECT_NE(id, other_codec.id_of(page));
  EXPECT_EQ(other_codec.digest_of(page), digest);  // the digest is unkeyed: files hash alike in any repo
}

TEST_F(BlockCodecTest, FlippedByteInAFrameIsCorrupt) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  std::vector<Bytes> blocks = pages(7, 3);
  Bytes good;
  codec.seal_frame(ids_of(codec, blocks), concat(blocks), good);
  // Nonce, the ids inside the ciphertext, the payload, the tag.
  for (std::size_t at : {std::size_t{0}, io::kAeadNonceBytes + kFrameHeadBytes + 40, good.size() / 2, good.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    Bytes bad = good;
    bad[at] ^= 0x01;
    expect_corrupt(codec, bad, "frame: authentication failed");
  }
  expect_corrupt(codec, Bytes(good.begin(), good.end() - 1), "frame: authentication failed");
  expect_corrupt(codec, Bytes(5, 0), "frame: authentication failed");
}

TEST_F(BlockCodecTest, FrameOpenedWithTheWrongKeyIsCorrupt) {
  BlockCodec codec(key_, io::Codec::lz4, 0);
  std::vector<Bytes> blocks = pages(8, 2);
  Bytes sealed;
  codec.seal_frame(ids_of(codec, blocks), concat(blocks), sealed);

  MasterKey other = MasterKey::generate();
  BlockCodec wrong(other, io::Codec::lz4, 0);
  std::vector<BlockId> ids;
  Bytes out;
  Error e = error_of([&] { wrong.open_frame(sealed, ids, out); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "frame: authentication failed");
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(ids.empty());
}

TEST_F(BlockCodecTest, OtherSealedObjectsAreNotFrames) {
  // Authentic under the data key, but sealed for another kind of object: the aad tells them apart.
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes page = page_like(9);
  Bytes plain = frame_plaintext(0, 1, kPageBytes, {codec.id_of(page)}, page);
  io::Aead aead(key_.data_key().view());
  for (std::string_view aad : {kAadPackTrailer, kAadSealed, kAadKeySlot}) {
    SCOPED_TRACE(std::string(aad));
    Bytes sealed;
    aead.seal(plain, to_bytes(aad), sealed);
    expect_corrupt(codec, sealed, "frame: authentication failed");
  }
  // The same plaintext with the frame aad opens: the cases above failed on the aad alone.
  std::vector<BlockId> ids;
  Bytes out;
  codec.open_frame(seal_by_hand(plain), ids, out);
  EXPECT_EQ(out, page);
}

TEST_F(BlockCodecTest, AuthenticButMalformedFramesAreCorrupt) {
  // Sealed by hand with the real key (a buggy or hostile writer holding it): only the frame's own
  // checks can refuse these.
  BlockCodec codec(key_, io::Codec::zstd, 3);
  const std::vector<Bytes> blocks = pages(12, 2);
  const Bytes data = concat(blocks);
  const std::vector<BlockId> ids = ids_of(codec, blocks);
  const auto raw = static_cast<std::uint32_t>(data.size());
  std::vector<BlockId> ids17(kMaxFrameBlocks + 1, ids[0]);
  Bytes zstd_payload;
  Bytes lz4_payload;
  {
    io::Compressor z(io::Codec::zstd, 3);
    ASSERT_TRUE(z.compress(data, zstd_payload));
    io::Compressor l(io::Codec::lz4, 0);
    ASSERT_TRUE(l.compress(data, lz4_payload));
  }
  struct Case {
    std::string what;
    Bytes plain;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"unknown codec", frame_plaintext(7, 2, raw, ids, data), "frame: unknown codec 7"},
      {"count 0", frame_plaintext(0, 0, raw, {}, data), "frame: impossible block count"},
      {"count 17", frame_plaintext(0, 17, raw, ids17, data), "frame: impossible block count"},
      {"count beyond the ids present", frame_plaintext(0, 3, 0, {ids[0]}, Bytes(63, 0)),
       "frame: impossible block count"},
      {"raw length beyond sixteen 1 MiB blocks", frame_plaintext(1, 2, (16u << 20) + 1, ids, zstd_payload),
       "frame: impossible length"},
      {"raw length of an uncompressed frame wrong", frame_plaintext(0, 2, raw - 1, ids, data), "frame: wrong length"},
      {"header cut short", Bytes{0, 1, 0, 0, 0}, "frame: too short"},
      {"empty", Bytes{}, "frame: too short"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    expect_corrupt(codec, seal_by_hand(c.plain), c.message);
  }

  // A compressed payload that does not decode to the raw length claimed: the decompressor's reason.
  struct Mismatch {
    io::Codec codec;
    const Bytes* payload;
    std::uint32_t claimed;
    std::string message;
  };
  const std::string n = std::to_string(raw);
  const std::vector<Mismatch> mismatches = {
      {io::Codec::zstd, &zstd_payload, raw / 2, "frame: zstd data decodes to " + n + " bytes, expected " + std::to_string(raw / 2)},
      {io::Codec::zstd, &zstd_payload, raw + 1, "frame: zstd data decodes to " + n + " bytes, expected " + std::to_string(raw + 1)},
      {io::Codec::lz4, &lz4_payload, raw / 2, "frame: lz4 data is corrupt"},
      {io::Codec::lz4, &lz4_payload, raw + 1, "frame: lz4 data decodes to " + n + " bytes, expected " + std::to_string(raw + 1)},
  };
  for (const auto& m : mismatches) {
    SCOPED_TRACE(std::string(io::to_string(m.codec)) + " claiming " + std::to_string(m.claimed));
    expect_corrupt(codec, seal_by_hand(frame_plaintext(static_cast<std::uint8_t>(m.codec), 2, m.claimed, ids, *m.payload)),
                   m.message);
    // The same payload with the right length opens: the failure came from the length alone.
    std::vector<BlockId> got;
    Bytes out;
    codec.open_frame(seal_by_hand(frame_plaintext(static_cast<std::uint8_t>(m.codec), 2, raw, ids, *m.payload)), got, out);
    EXPECT_EQ(out, data);
  }
}

TEST_F(BlockCodecTest, FrameWithoutTheWantedBlockIsNotMistakenForIt) {
  // A manifest ref names (frame, index) and the block's id. Should it point at the wrong frame, or
  // the wrong index of the right one, the ids sealed inside the frame give it away.
  BlockCodec codec(key_, io::Codec::zstd, 3);
  const std::vector<Bytes> a_blocks = pages(60, 4);
  const std::vector<Bytes> b_blocks = pages(70, 4);
  const std::vector<BlockId> a_ids = ids_of(codec, a_blocks);
  const std::vector<BlockId> b_ids = ids_of(codec, b_blocks);
  Bytes frame_a;
  Bytes frame_b;
  codec.seal_frame(a_ids, concat(a_blocks), frame_a);
  codec.seal_frame(b_ids, concat(b_blocks), frame_b);

  // The wanted block is B's block 2; the ref points at index 2 of frame A instead.
  const BlockId wanted = b_ids[2];
  std::vector<BlockId> ids;
  Bytes out;
  codec.open_frame(frame_a, ids, out);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_NE(ids[2], wanted);
  EXPECT_EQ(std::find(ids.begin(), ids.end(), wanted), ids.end());
  // And the bytes at that index are A's block, which hashes to A's id, not to the wanted one.
  Bytes at_index(out.begin() + 2 * kPageBytes, out.begin() + 3 * kPageBytes);
  EXPECT_EQ(at_index, a_blocks[2]);
  EXPECT_NE(codec.id_of(at_index), wanted);

  // The right frame at the wrong index: the ids there differ too.
  ids.clear();
  out.clear();
  codec.open_frame(frame_b, ids, out);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[2], wanted);
  EXPECT_NE(ids[1], wanted);
  EXPECT_NE(ids[3], wanted);

  // A one-block frame holding the wanted block's neighbour: index 2 is past its end, so there is no
  // id to match at all, and the one it holds is not the wanted one.
  Bytes small;
  codec.seal_frame({b_ids[1]}, b_blocks[1], small);
  ids.clear();
  out.clear();
  codec.open_frame(small, ids, out);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_NE(ids[0], wanted);
  EXPECT_EQ(out.size(), kPageBytes);
}

}  // namespace
}  // namespace pgdr::repo
