#include "repo/block_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <utility>
#include <cctype>
#include <string>
#include <vector>

#include "io/aead.h"
#include "io/compress.h"
#include "io/sha256_lanes.h"
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

// Pack ids as new_pack_id() makes them (32 hex digits); fixed so a failure reproduces.
constexpr std::string_view kPackA = "3fa2c1d40b6e4f8a9c1d2e3f4a5b6c7d";
constexpr std::string_view kPackB = "8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a";
// A frame rarely sits at offset 0; a nonzero one shows the offset is part of what is bound.
constexpr FramePlace kPlace{kPackA, 4096};

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
  Bytes payload;
  bool operator==(const FramePlain&) const = default;
};

// The plaintext of a frame as the writer lays it out: codec u8 | count u8 | raw_length u32le | payload.
Bytes frame_plaintext(std::uint8_t codec, std::uint8_t count, std::uint32_t raw_length, ByteView payload) {
  Bytes plain{codec, count};
  for (int i = 0; i < 4; ++i) plain.push_back(static_cast<std::uint8_t>(raw_length >> (8 * i)));
  plain.insert(plain.end(), payload.begin(), payload.end());
  return plain;
}

class BlockCodecTest : public test::RepoTestBase {
 protected:
  // Opens a sealed frame with the data key directly, bypassing BlockCodec, and decodes its header.
  FramePlain peek(ByteView sealed, FramePlace place) {
    io::Aead aead(key_.data_key().view());
    Bytes aad;
    frame_aad(place, aad);
    Bytes plain;
    aead.open(sealed, aad, plain);
    FramePlain f;
    if (plain.size() < kFrameHeadBytes) {
      ADD_FAILURE() << "frame plaintext of " << plain.size() << " bytes";
      return f;
    }
    f.codec = plain[0];
    f.count = plain[1];
    for (int i = 0; i < 4; ++i) f.raw_length |= static_cast<std::uint32_t>(plain[2 + static_cast<std::size_t>(i)]) << (8 * i);
    f.payload.assign(plain.begin() + kFrameHeadBytes, plain.end());
    return f;
  }
  // Seals a plaintext with the real data key and the frame aad of place: authentic, whatever it says.
  Bytes seal_by_hand(const Bytes& plain, FramePlace place = kPlace) {
    io::Aead aead(key_.data_key().view());
    Bytes aad;
    frame_aad(place, aad);
    Bytes sealed;
    aead.seal(plain, aad, sealed);
    return sealed;
  }
  // Every way of reading a frame refuses it with message and leaves the caller's buffers alone.
  void expect_corrupt(BlockCodec& codec, const Bytes& sealed, const std::string& message, FramePlace place = kPlace) {
    Bytes out;
    Error e = error_of([&] { codec.open_frame(sealed, place, out); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), message);
    EXPECT_TRUE(out.empty());
    Bytes buf;
    Error to = error_of([&] { codec.open_frame_to(sealed, place, buf); });
    EXPECT_EQ(to.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(to.what()), message);
  }
  // The same for the reads that stop before decompressing: authenticating and resealing.
  void expect_header_corrupt(BlockCodec& codec, const Bytes& sealed, const std::string& message,
                             FramePlace place = kPlace) {
    Error auth = error_of([&] { codec.authenticate_frame(sealed, place); });
    EXPECT_EQ(auth.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(auth.what()), message);
    Bytes out;
    Error reseal = error_of([&] { codec.reseal_frame(sealed, place, FramePlace{kPackB, 0}, out); });
    EXPECT_EQ(reseal.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(reseal.what()), message);
    EXPECT_TRUE(out.empty());
  }
};

TEST_F(BlockCodecTest, FrameAadIsTheDocumentedLayout) {
  // "pgdr-v1 frame " | pack id as its 32 hex characters | offset u32le, built here byte by byte.
  Bytes aad = to_bytes("left over");  // replaced, not appended to
  frame_aad(FramePlace{kPackA, 0x01020304}, aad);
  Bytes expected = to_bytes(std::string("pgdr-v1 frame ") + std::string(kPackA));
  for (std::uint8_t b : {0x04, 0x03, 0x02, 0x01}) expected.push_back(b);
  EXPECT_EQ(aad, expected);
  EXPECT_EQ(aad.size(), 14u + 32u + 4u);
}

TEST_F(BlockCodecTest, RoundTripWithEveryCodec) {
  struct Case {
    std::string what;
    std::vector<Bytes> blocks;
    bool shrinks;  // whether compressing the frame saves space
  };
  std::vector<Bytes> noise;
  for (std::uint32_t i = 0; i < kMaxFrameBlocks; ++i) noise.push_back(random_data(kPageBytes, 100 + i));
  std::vector<Bytes> partial = pages(30, 3);
  partial.push_back(mixed_data(1000, 34));  // a file's last block, short
  const std::vector<Case> cases = {
      {"one page", {page_like(1)}, true},
      {"one random block", {random_data(kPageBytes, 2)}, false},
      {"one zero block", {Bytes(kPageBytes, 0)}, true},
      {"one byte", {to_bytes("x")}, false},
      {"a full frame of pages", pages(10, kMaxFrameBlocks), true},
      {"a full frame of random blocks", noise, false},
      {"3 pages and a partial last block", partial, true},
  };
  for (io::Codec c : {io::Codec::zstd, io::Codec::lz4, io::Codec::none}) {
    BlockCodec codec(key_, c, 3);
    for (const auto& k : cases) {
      SCOPED_TRACE(std::string(io::to_string(c)) + ", " + k.what);
      const Bytes data = concat(k.blocks);
      Bytes sealed;
      codec.seal_frame(k.blocks.size(), data, kPlace, sealed);

      Bytes out;
      FrameShape shape = codec.open_frame(sealed, kPlace, out);
      EXPECT_EQ(out, data);
      EXPECT_EQ(shape.count, k.blocks.size());
      EXPECT_EQ(shape.raw_bytes, data.size());
      // Each block cut back out of the frame still hashes to the id of the block put in, as
      // restore checks against the id its manifest names.
      for (std::size_t i = 0; i < k.blocks.size(); ++i) {
        std::size_t at = i * kPageBytes;
        std::size_t len = std::min(kPageBytes, out.size() - at);
        EXPECT_EQ(codec.id_of(ByteView(out.data() + at, len)), codec.id_of(k.blocks[i])) << "block " << i;
      }

      // The header as the format document lays it out, with no ids after it. Incompressible
      // frames are stored as is; compressible ones with the codec asked for.
      FramePlain f = peek(sealed, kPlace);
      io::Codec expected = (c == io::Codec::none || !k.shrinks) ? io::Codec::none : c;
      EXPECT_EQ(f.codec, static_cast<std::uint8_t>(expected));
      EXPECT_EQ(f.count, k.blocks.size());
      EXPECT_EQ(f.raw_length, data.size());
      if (expected == io::Codec::none) {
        EXPECT_EQ(f.payload, data);
        EXPECT_EQ(sealed.size(), kFrameHeadBytes + data.size() + io::kAeadOverheadBytes);
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
  Bytes sealed;
  codec.seal_frame(kMaxFrameBlocks, data, kPlace, sealed);
  Bytes out;
  FrameShape shape = codec.open_frame(sealed, kPlace, out);
  EXPECT_EQ(shape.count, kMaxFrameBlocks);
  EXPECT_EQ(shape.raw_bytes, kMaxFrameBlocks << 20);
  EXPECT_TRUE(out == data);
}

TEST_F(BlockCodecTest, FrameOfNoBlocksOrMoreThanSixteenIsRefusedWhenSealing) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes data = concat(pages(50, kMaxFrameBlocks + 1));
  Bytes sealed;
  Error many = error_of([&] { codec.seal_frame(kMaxFrameBlocks + 1, data, kPlace, sealed); });
  EXPECT_EQ(many.kind(), ErrorKind::internal);
  EXPECT_EQ(std::string(many.what()), "frame of impossible size");
  Error none = error_of([&] { codec.seal_frame(0, {}, kPlace, sealed); });
  EXPECT_EQ(none.kind(), ErrorKind::internal);
  EXPECT_EQ(std::string(none.what()), "frame of impossible size");
  EXPECT_TRUE(sealed.empty());
}

TEST_F(BlockCodecTest, SealAndOpenAppendToWhatIsThere) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes data = concat(pages(4, 2));
  Bytes sealed;
  sealed.push_back(0xaa);
  codec.seal_frame(2, data, kPlace, sealed);
  EXPECT_EQ(sealed[0], 0xaa);
  Bytes out = to_bytes("prefix");
  codec.open_frame(ByteView(sealed).subspan(1), kPlace, out);
  ASSERT_EQ(out.size(), 6 + data.size());
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), to_bytes("prefix"));
  EXPECT_EQ(Bytes(out.begin() + 6, out.end()), data);
}

TEST_F(BlockCodecTest, OpenFrameToReusesItsBufferAndChecksTheSame) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  const Bytes big = concat(pages(1, 16));
  const Bytes small = concat(pages(20, 2));
  Bytes big_sealed, small_sealed;
  codec.seal_frame(16, big, kPlace, big_sealed);
  codec.seal_frame(2, small, kPlace, small_sealed);
  Bytes buf;
  // Grown for the large frame, then reused (not shrunk) for the small one.
  FrameShape big_shape = codec.open_frame_to(big_sealed, kPlace, buf);
  ASSERT_EQ(big_shape.raw_bytes, big.size());
  EXPECT_EQ(big_shape.count, 16u);
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(big.size())), big);
  FrameShape small_shape = codec.open_frame_to(small_sealed, kPlace, buf);
  ASSERT_EQ(small_shape.raw_bytes, small.size());
  EXPECT_EQ(small_shape.count, 2u);
  EXPECT_EQ(buf.size(), big.size());
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(small.size())), small);
  // Damage is refused with the message open_frame gives.
  Bytes damaged = small_sealed;
  damaged[damaged.size() / 2] ^= 1;
  Error to = error_of([&] { codec.open_frame_to(damaged, kPlace, buf); });
  Bytes out;
  Error appended = error_of([&] { codec.open_frame(damaged, kPlace, out); });
  EXPECT_EQ(to.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(to.what()), "frame: authentication failed");
  EXPECT_EQ(std::string(to.what()), std::string(appended.what()));
}

TEST_F(BlockCodecTest, BlockIdsAreKeyedHmacsOfTheBlockDigest) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes page = page_like(5);
  const io::Digest digest = io::Sha256::of(page);
  EXPECT_EQ(codec.digest_of(page), digest);
  BlockId id = codec.id_of(page);
  static_assert(sizeof(BlockId) == 16);
  const io::Digest mac = io::HmacSha256(key_.id_key().view()).of(digest);
  EXPECT_TRUE(std::equal(id.begin(), id.end(), mac.begin()));  // the HMAC's first 16 bytes
  EXPECT_EQ(id, codec.id_of_digest(digest));
  EXPECT_EQ(id, codec.id_of(page));
  EXPECT_FALSE(std::equal(id.begin(), id.end(), digest.begin()));  // the name reveals nothing without the key
  const io::Digest mac_of_page = io::HmacSha256(key_.id_key().view()).of(page);
  EXPECT_FALSE(std::equal(id.begin(), id.end(), mac_of_page.begin()));  // keyed over the digest, not the page
  EXPECT_NE(id, codec.id_of(page_like(6)));

  MasterKey other = MasterKey::generate();
  BlockCodec other_codec(other, io::Codec::zstd, 3);
  EXPECT_NE(id, other_codec.id_of(page));
  EXPECT_EQ(other_codec.digest_of(page), digest);  // the digest is unkeyed: files hash alike in any repo
}

// A backup names a chunk's blocks side by side; the ids must be those every other reader computes
// one at a time, on the SHA-NI kernel and on OpenSSL alike.
TEST_F(BlockCodecTest, IdsNamedSideBySideAreTheIdsNamedOneAtATime) {
  for (bool portable : {false, true}) {
    io::detail::sha256_lanes_portable_only = portable;
    BlockCodec codec(key_, io::Codec::zstd, 3);
    std::vector<io::Digest> digests;
    for (std::uint32_t i = 0; i < 7; ++i) digests.push_back(io::Sha256::of(page_like(i)));
    std::vector<BlockId> ids(digests.size());
    codec.ids_of_digests(digests, ids);
    for (std::size_t i = 0; i < digests.size(); ++i)
      EXPECT_EQ(ids[i], codec.id_of_digest(digests[i])) << "block " << i << (portable ? " (OpenSSL)" : " (SHA-NI)");
    std::vector<BlockId> too_few(3);
    EXPECT_EQ(error_of([&] { codec.ids_of_digests(digests, too_few); }).kind(), ErrorKind::internal);
  }
  io::detail::sha256_lanes_portable_only = false;
}

TEST_F(BlockCodecTest, FlippedByteInAFrameIsCorrupt) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes good;
  codec.seal_frame(3, concat(pages(7, 3)), kPlace, good);
  // Nonce, the header inside the ciphertext, the payload, the tag.
  for (std::size_t at : {std::size_t{0}, io::kAeadNonceBytes + 1, good.size() / 2, good.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    Bytes bad = good;
    bad[at] ^= 0x01;
    expect_corrupt(codec, bad, "frame: authentication failed");
    expect_header_corrupt(codec, bad, "frame: authentication failed");
  }
  expect_corrupt(codec, Bytes(good.begin(), good.end() - 1), "frame: authentication failed");
  expect_corrupt(codec, Bytes(5, 0), "frame: authentication failed");
  expect_header_corrupt(codec, Bytes(5, 0), "frame: authentication failed");
  // Undamaged, it opens: the failures above came from the flipped bytes.
  Bytes out;
  codec.open_frame(good, kPlace, out);
  EXPECT_EQ(out, concat(pages(7, 3)));
}

TEST_F(BlockCodecTest, FrameOpenedWithTheWrongKeyIsCorrupt) {
  BlockCodec codec(key_, io::Codec::lz4, 0);
  Bytes sealed;
  codec.seal_frame(2, concat(pages(8, 2)), kPlace, sealed);

  MasterKey other = MasterKey::generate();
  BlockCodec wrong(other, io::Codec::lz4, 0);
  expect_corrupt(wrong, sealed, "frame: authentication failed");
  expect_header_corrupt(wrong, sealed, "frame: authentication failed");
}

TEST_F(BlockCodecTest, FrameOpenedAtAnotherPlaceIsCorrupt) {
  // A frame's AAD names its pack and offset: authentic bytes found anywhere else (copied to another
  // offset or pack, or a ref whose offset is wrong) are refused before anything is decoded.
  for (io::Codec c : {io::Codec::zstd, io::Codec::none}) {
    SCOPED_TRACE(std::string(io::to_string(c)));
    BlockCodec codec(key_, c, 3);
    const Bytes data = concat(pages(80, 2));
    Bytes sealed;
    codec.seal_frame(2, data, kPlace, sealed);
    std::string upper(kPackA);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char ch) { return static_cast<char>(std::toupper(static_cast<unsigned char>(ch))); });
    std::string one_digit_off(kPackA);
    one_digit_off.back() = one_digit_off.back() == '0' ? '1' : '0';
    struct Case {
      std::string what;
      FramePlace place;
    };
    const std::vector<Case> cases = {
        {"offset 0", {kPackA, 0}},
        {"next offset", {kPackA, kPlace.offset + 1}},
        {"offset of the next frame", {kPackA, kPlace.offset + static_cast<std::uint32_t>(sealed.size())}},
        {"offset differing in its high byte", {kPackA, kPlace.offset | 0x01000000u}},
        {"another pack, same offset", {kPackB, kPlace.offset}},
        {"pack id one digit off", {one_digit_off, kPlace.offset}},
        {"pack id in upper case", {upper, kPlace.offset}},
        {"pack id cut short", {kPackA.substr(0, 31), kPlace.offset}},
        {"no pack id (the AAD of no place)", {"", kPlace.offset}},
    };
    for (const auto& k : cases) {
      SCOPED_TRACE(k.what);
      expect_corrupt(codec, sealed, "frame: authentication failed", k.place);
      expect_header_corrupt(codec, sealed, "frame: authentication failed", k.place);
    }
    // At its own place, it opens: the failures came from the place alone.
    Bytes out;
    codec.open_frame(sealed, kPlace, out);
    EXPECT_EQ(out, data);
  }
}

TEST_F(BlockCodecTest, OtherSealedObjectsAreNotFrames) {
  // Authentic under the data key, but sealed for another kind of object: the aad tells them apart.
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes page = page_like(9);
  Bytes plain = frame_plaintext(0, 1, kPageBytes, page);
  io::Aead aead(key_.data_key().view());
  Bytes frame_aad_bytes;
  frame_aad(kPlace, frame_aad_bytes);
  const std::string place_suffix(frame_aad_bytes.begin() + static_cast<std::ptrdiff_t>(kAadFrame.size()),
                                 frame_aad_bytes.end());
  const std::vector<std::string> aads = {
      std::string(kAadPackTrailer) + std::string(kPackA),  // the trailer of the frame's own pack
      std::string(kAadSealed),
      std::string(kAadKeySlot),
      std::string(kAadFrame),                 // a frame bound to no place (the format before version 2)
      std::string(kAadSealed) + place_suffix,  // another kind's prefix before the frame's own place
  };
  for (const std::string& aad : aads) {
    SCOPED_TRACE(aad);
    Bytes sealed;
    aead.seal(plain, to_bytes(aad), sealed);
    expect_corrupt(codec, sealed, "frame: authentication failed");
  }
  // The same plaintext with the frame aad opens: the cases above failed on the aad alone.
  Bytes out;
  codec.open_frame(seal_by_hand(plain), kPlace, out);
  EXPECT_EQ(out, page);
}

TEST_F(BlockCodecTest, AuthenticButMalformedFramesAreCorrupt) {
  // Sealed by hand with the real key (a buggy or hostile writer holding it): only the frame's own
  // checks can refuse these.
  BlockCodec codec(key_, io::Codec::zstd, 3);
  const Bytes data = concat(pages(12, 2));
  const auto raw = static_cast<std::uint32_t>(data.size());
  Bytes zstd_payload;
  Bytes lz4_payload;
  {
    io::Compressor z(io::Codec::zstd, 3);
    ASSERT_TRUE(z.compress(data, zstd_payload));
    io::Compressor l(io::Codec::lz4, 0);
    ASSERT_TRUE(l.compress(data, lz4_payload));
  }
  // Header faults: refused by every read, the ones that do not decompress included.
  struct Case {
    std::string what;
    Bytes plain;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"unknown codec", frame_plaintext(7, 2, raw, data), "frame: unknown codec 7"},
      {"count 0", frame_plaintext(0, 0, raw, data), "frame: impossible block count"},
      {"one block too many", frame_plaintext(0, kMaxFrameBlocks + 1, raw, data), "frame: impossible block count"},
      {"count 255", frame_plaintext(0, 255, raw, data), "frame: impossible block count"},
      {"raw length beyond a full frame of 1 MiB blocks", frame_plaintext(1, 2, (kMaxFrameBlocks << 20) + 1, zstd_payload),
       "frame: impossible length"},
      {"raw length of an uncompressed frame too short", frame_plaintext(0, 2, raw - 1, data), "frame: wrong length"},
      {"raw length of an uncompressed frame too long", frame_plaintext(0, 2, raw + 1, data), "frame: wrong length"},
      {"header cut short", Bytes{0, 1, 0, 0, 0}, "frame: too short"},
      {"empty", Bytes{}, "frame: too short"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    expect_corrupt(codec, seal_by_hand(c.plain), c.message);
    expect_header_corrupt(codec, seal_by_hand(c.plain), c.message);
  }
  // The bounds themselves are admitted: a full frame of blocks, and a full frame of 1 MiB blocks'
  // worth of raw length.
  EXPECT_EQ(codec.authenticate_frame(seal_by_hand(frame_plaintext(0, kMaxFrameBlocks, raw, data)), kPlace).count,
            kMaxFrameBlocks);
  EXPECT_EQ(codec.authenticate_frame(seal_by_hand(frame_plaintext(1, 2, kMaxFrameBlocks << 20, zstd_payload)), kPlace)
                .raw_bytes,
            kMaxFrameBlocks << 20);

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
    expect_corrupt(codec, seal_by_hand(frame_plaintext(static_cast<std::uint8_t>(m.codec), 2, m.claimed, *m.payload)),
                   m.message);
    // The same payload with the right length opens: the failure came from the length alone.
    Bytes out;
    codec.open_frame(seal_by_hand(frame_plaintext(static_cast<std::uint8_t>(m.codec), 2, raw, *m.payload)), kPlace, out);
    EXPECT_EQ(out, data);
  }
}

TEST_F(BlockCodecTest, AuthenticateFrameReadsTheShapeWithoutDecompressing) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  // A real frame: the shape authentication reads is the one opening returns.
  const Bytes data = concat(pages(90, 5));
  Bytes sealed;
  codec.seal_frame(5, data, kPlace, sealed);
  FrameShape shape = codec.authenticate_frame(sealed, kPlace);
  EXPECT_EQ(shape.count, 5u);
  EXPECT_EQ(shape.raw_bytes, data.size());
  Bytes out;
  FrameShape opened = codec.open_frame(sealed, kPlace, out);
  EXPECT_EQ(opened.count, shape.count);
  EXPECT_EQ(opened.raw_bytes, shape.raw_bytes);

  // Authentic frames whose zstd payload cannot be decoded: authentication reads their header and
  // passes them, which it could not if it decompressed; opening them fails on the payload.
  struct Case {
    std::string what;
    Bytes payload;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not zstd", to_bytes("these bytes are no zstd frame at all"), "frame: zstd data has no valid frame header"},
      {"empty payload", Bytes{}, "frame: zstd data is empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const Bytes bad = seal_by_hand(frame_plaintext(static_cast<std::uint8_t>(io::Codec::zstd), 3, 3 * kPageBytes, c.payload));
    FrameShape s = codec.authenticate_frame(bad, kPlace);
    EXPECT_EQ(s.count, 3u);
    EXPECT_EQ(s.raw_bytes, 3 * kPageBytes);
    expect_corrupt(codec, bad, c.message);
    // Resealing does not decompress either: the frame moves, and at its new place it still
    // authenticates and still fails to decode, for the same reason.
    const FramePlace to{kPackB, 77};
    Bytes moved;
    codec.reseal_frame(bad, kPlace, to, moved);
    EXPECT_EQ(codec.authenticate_frame(moved, to).raw_bytes, 3 * kPageBytes);
    expect_corrupt(codec, moved, c.message, to);
  }
}

TEST_F(BlockCodecTest, ResealedFrameOpensOnlyAtItsNewPlace) {
  for (io::Codec c : {io::Codec::zstd, io::Codec::lz4, io::Codec::none}) {
    SCOPED_TRACE(std::string(io::to_string(c)));
    BlockCodec codec(key_, c, 3);
    std::vector<Bytes> blocks = pages(40, 3);
    blocks.push_back(mixed_data(500, 44));  // a short last block
    const Bytes data = concat(blocks);
    Bytes sealed;
    codec.seal_frame(blocks.size(), data, kPlace, sealed);
    struct Case {
      std::string what;
      FramePlace to;
    };
    const std::vector<Case> cases = {
        {"another pack", {kPackB, 0}},
        {"same pack, another offset", {kPackA, 12}},
        {"another pack, same offset", {kPackB, kPlace.offset}},
    };
    for (const auto& k : cases) {
      SCOPED_TRACE(k.what);
      Bytes moved = to_bytes("kept");  // appended to
      codec.reseal_frame(sealed, kPlace, k.to, moved);
      ASSERT_GT(moved.size(), 4u);
      EXPECT_EQ(Bytes(moved.begin(), moved.begin() + 4), to_bytes("kept"));
      moved.erase(moved.begin(), moved.begin() + 4);

      // Same plaintext, byte for byte (payload not recompressed), under a new seal.
      EXPECT_EQ(peek(moved, k.to), peek(sealed, kPlace));
      EXPECT_EQ(moved.size(), sealed.size());
      EXPECT_NE(moved, sealed);
      Bytes out;
      FrameShape shape = codec.open_frame(moved, k.to, out);
      EXPECT_EQ(out, data);
      EXPECT_EQ(shape.count, blocks.size());
      EXPECT_EQ(shape.raw_bytes, data.size());
      // Where it came from it no longer opens; the original still does.
      expect_corrupt(codec, moved, "frame: authentication failed", kPlace);
      Bytes original;
      codec.open_frame(sealed, kPlace, original);
      EXPECT_EQ(original, data);
    }
  }
}

TEST_F(BlockCodecTest, ResealOfADamagedOrMisplacedFrameIsCorrupt) {
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Bytes sealed;
  codec.seal_frame(2, concat(pages(60, 2)), kPlace, sealed);
  const FramePlace to{kPackB, 0};
  struct Case {
    std::string what;
    Bytes sealed;
    FramePlace from;
  };
  Bytes damaged = sealed;
  damaged[damaged.size() / 2] ^= 0x10;
  const std::vector<Case> cases = {
      {"damaged", damaged, kPlace},
      {"cut short", Bytes(sealed.begin(), sealed.end() - 1), kPlace},
      {"from the wrong offset", sealed, {kPackA, kPlace.offset + 8}},
      {"from the wrong pack", sealed, {kPackB, kPlace.offset}},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.what);
    Bytes out = to_bytes("before");
    Error e = error_of([&] { codec.reseal_frame(k.sealed, k.from, to, out); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "frame: authentication failed");
    EXPECT_EQ(out, to_bytes("before"));  // nothing appended
  }
  // The undamaged frame from its real place reseals: the failures came from the damage or place.
  Bytes out;
  codec.reseal_frame(sealed, kPlace, to, out);
  EXPECT_EQ(codec.authenticate_frame(out, to).count, 2u);
}

TEST_F(BlockCodecTest, FrameWithoutTheWantedBlockIsNotMistakenForIt) {
  // A manifest ref names (frame, index) and the block's id. Frames name no blocks, so should a ref
  // point at the wrong frame (at its real place, so it opens), or the wrong index of the right
  // one, what gives it away is the content there: it hashes to another id, and an index past the
  // frame's count names no block at all.
  BlockCodec codec(key_, io::Codec::zstd, 3);
  const std::vector<Bytes> a_blocks = pages(60, 4);
  const std::vector<Bytes> b_blocks = pages(70, 4);
  const FramePlace a_place{kPackA, 0};
  Bytes frame_a;
  codec.seal_frame(4, concat(a_blocks), a_place, frame_a);
  const FramePlace b_place{kPackA, static_cast<std::uint32_t>(frame_a.size())};
  Bytes frame_b;
  codec.seal_frame(4, concat(b_blocks), b_place, frame_b);

  // The wanted block is B's block 2; the ref points at index 2 of frame A instead.
  const BlockId wanted = codec.id_of(b_blocks[2]);
  Bytes out;
  ASSERT_EQ(codec.open_frame(frame_a, a_place, out).count, 4u);
  Bytes at_index(out.begin() + 2 * kPageBytes, out.begin() + 3 * kPageBytes);
  EXPECT_EQ(at_index, a_blocks[2]);
  EXPECT_NE(codec.id_of(at_index), wanted);

  // The right frame at the wrong index: the blocks there hash to other ids; at index 2, to it.
  out.clear();
  codec.open_frame(frame_b, b_place, out);
  auto id_at = [&](std::size_t i) {
    return codec.id_of(ByteView(out.data() + i * kPageBytes, kPageBytes));
  };
  EXPECT_EQ(id_at(2), wanted);
  EXPECT_NE(id_at(1), wanted);
  EXPECT_NE(id_at(3), wanted);

  // A one-block frame holding the wanted block's neighbour: index 2 is past its count, and the one
  // block it holds is not the wanted one.
  Bytes small;
  codec.seal_frame(1, b_blocks[1], kPlace, small);
  out.clear();
  FrameShape shape = codec.open_frame(small, kPlace, out);
  EXPECT_EQ(shape.count, 1u);
  EXPECT_EQ(out.size(), kPageBytes);
  EXPECT_NE(codec.id_of(out), wanted);
}

// A frame of table rows as text: names and amounts drawn from small sets, as a column of a real
// table repeats its values. Compresses about 3:1 at level 2, where lazy matching finds more.
Bytes rows_frame(std::uint32_t seed) {
  static constexpr std::array<std::string_view, 12> kWords = {"alice", "bob", "carol", "dave", "erin", "frank",
                                                              "grace", "heidi", "ivan", "judy", "mallory", "oscar"};
  std::mt19937 rng(seed);
  Bytes out;
  while (out.size() < kMaxFrameBlocks * kPageBytes) {
    const std::string row = std::to_string(rng() % 1000000) + "|" + std::string(kWords[rng() % kWords.size()]) + " " +
                            std::string(kWords[rng() % kWords.size()]) + "|" + std::to_string(rng() % 100000) + "." +
                            std::to_string(rng() % 100) + "|" + std::to_string(2020 + rng() % 7) + "-0" +
                            std::to_string(1 + rng() % 9) + "\n";
    out.insert(out.end(), row.begin(), row.end());
  }
  out.resize(kMaxFrameBlocks * kPageBytes);
  return out;
}

TEST_F(BlockCodecTest, AFrameAfterOneThatCompressedBadlyIsCompressedHarder) {
  BlockCodec adaptive(key_, io::Codec::zstd, 2, 5);
  BlockCodec fast(key_, io::Codec::zstd, 2, 0);
  const Bytes first = rows_frame(1), second = rows_frame(2);
  Bytes a1, f1, a2, f2;
  adaptive.seal_frame(kMaxFrameBlocks, first, kPlace, a1);
  fast.seal_frame(kMaxFrameBlocks, first, kPlace, f1);
  // The first frame has nothing before it: both compress it at level 2, to the same bytes' size.
  EXPECT_EQ(a1.size(), f1.size());
  ASSERT_GT(first.size(), 2 * f1.size()) << "the rows compress";
  ASSERT_LT(first.size(), 5 * f1.size()) << "but less than 5:1, so the next frame is compressed harder";
  EXPECT_FALSE(adaptive.sealed_harder());

  adaptive.seal_frame(kMaxFrameBlocks, second, kPlace, a2);
  fast.seal_frame(kMaxFrameBlocks, second, kPlace, f2);
  EXPECT_TRUE(adaptive.sealed_harder());
  EXPECT_FALSE(fast.sealed_harder());
  EXPECT_LT(a2.size(), f2.size() * 99 / 100) << "level 6 stores at least 1 % less of such rows";
  // Readers do not care how hard a frame was compressed.
  for (const auto* sealed : {&a1, &a2}) {
    Bytes out;
    fast.open_frame(*sealed, kPlace, out);
    EXPECT_TRUE(out == (sealed == &a1 ? first : second));
  }
}

TEST_F(BlockCodecTest, FramesThatCompressWellOrNotAtAllKeepTheLevelAsked) {
  const Bytes rows = rows_frame(3);
  const Bytes well = concat(pages(20, kMaxFrameBlocks));          // pages of repeated text: far more than 5:1
  const Bytes noise = random_data(kMaxFrameBlocks * kPageBytes, 4);  // does not compress at all
  {
    BlockCodec codec(key_, io::Codec::zstd, 2, 5);
    // Each frame after the rows is compressed harder; the ones after the pages and after the noise
    // are not.
    const std::vector<std::pair<const Bytes*, bool>> frames = {
        {&well, false}, {&rows, false}, {&noise, true}, {&rows, false}, {&well, true}};
    Bytes out;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      codec.seal_frame(kMaxFrameBlocks, *frames[i].first, kPlace, out);
      EXPECT_EQ(codec.sealed_harder(), frames[i].second) << "frame " << i;
    }
  }
  // A level as hard as the harder one, or another codec, is kept throughout.
  for (auto [c, level] : {std::pair{io::Codec::zstd, kHarderLevel}, std::pair{io::Codec::zstd, 9}, std::pair{io::Codec::lz4, 0}}) {
    BlockCodec codec(key_, c, level, 5);
    Bytes out;
    for (int i = 0; i < 3; ++i) {
      codec.seal_frame(kMaxFrameBlocks, rows, kPlace, out);
      EXPECT_FALSE(codec.sealed_harder()) << io::to_string(c) << " level " << level << ", frame " << i;
    }
  }
}

}  // namespace
}  // namespace pgdr::repo
