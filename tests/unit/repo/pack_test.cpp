#include "repo/pack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/little_endian.h"
#include "io/aead.h"
#include "repo/format.h"
#include "storage/faulty_storage.h"
#include "pack_test_support.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::error_of;
using test::mixed_data;
using test::random_data;
using namespace test_pack;

void put_u32_at(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}


class PackTest : public test_pack::PackFixture {
 protected:
  // Adds a frame of four random blocks (seeded by seed) to pack.
  static std::vector<PackEntry> add_random_frame(PackWriter& pack, BlockCodec& codec, std::uint32_t seed) {
    Bytes data = random_data(4 * kBlockBytes, seed);
    std::vector<BlockId> ids;
    for (std::size_t i = 0; i < 4; ++i) ids.push_back(codec.id_of(ByteView(data).subspan(i * kBlockBytes, kBlockBytes)));
    return pack.add_frame(codec, ids, data);
  }

  struct Written {
    std::string pack_id;
    std::vector<std::vector<Bytes>> frames;  // the blocks of each frame
    std::vector<PackEntry> entries;          // one per block, frame after frame, as add_frame returned them
    std::vector<std::size_t> frame_of;       // entries[i] is a block of frames[frame_of[i]]
    std::vector<Bytes> blocks;               // entries[i] names blocks[i]
    std::uint64_t body_bytes = 0;
  };

  // Splits data into blocks of kBlockBytes, the last maybe shorter.
  static std::vector<Bytes> split(const Bytes& data) {
    std::vector<Bytes> out;
    for (std::size_t at = 0; at < data.size(); at += kBlockBytes)
      out.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(at),
                       data.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(data.size(), at + kBlockBytes)));
    return out;
  }

  // A committed pack of four frames: sixteen compressible blocks, one random block, one block of
  // zeros, and three blocks with a short last one (the end of a file).
  Written write_pack(io::Codec c, const MasterKey& key) {
    Written w;
    w.pack_id = new_pack_id();
    BlockCodec codec(key, c, 3);
    PackWriter pack(store_, key, w.pack_id, kBlockBytes);
    Bytes end_of_file = mixed_data(2 * kBlockBytes, 3);
    for (char ch : std::string("tail")) end_of_file.push_back(static_cast<std::uint8_t>(ch));
    w.frames = {split(mixed_data(kMaxFrameBlocks * kBlockBytes, 1)), {random_data(kBlockBytes, 2)},
                {Bytes(kBlockBytes, 0)}, split(end_of_file)};
    EXPECT_EQ(w.frames[0].size(), kMaxFrameBlocks);
    EXPECT_EQ(w.frames[3].size(), 3u);
    std::vector<std::size_t> counts;
    for (std::size_t f = 0; f < w.frames.size(); ++f) {
      std::vector<BlockId> ids;
      for (const auto& b : w.frames[f]) ids.push_back(codec.id_of(b));
      auto entries = pack.add_frame(codec, ids, test::concat(w.frames[f]));
      EXPECT_EQ(entries.size(), ids.size());
      counts.push_back(ids.size());
      for (std::size_t i = 0; i < entries.size(); ++i) {
        w.entries.push_back(entries[i]);
        w.frame_of.push_back(f);
        w.blocks.push_back(w.frames[f][i]);
      }
    }
    EXPECT_EQ(pack.block_count(), w.entries.size());
    w.body_bytes = pack.size_bytes();
    std::uint64_t stored = pack.commit();
    EXPECT_EQ(stored, raw(pack_object(w.pack_id)).size());
    EXPECT_EQ(stored, w.body_bytes + sealed_trailer_bytes(counts) + kTailBytes);
    return w;
  }
  Written write_pack(io::Codec c) { return write_pack(c, key_); }

  struct Opened {
    FrameShape shape;
    Bytes data;
  };
  // Opens length bytes at offset of a stored pack as the frame placed there.
  Opened open_at(const std::string& pack_id, std::uint32_t offset, std::uint32_t length, const MasterKey& key) {
    auto sealed = store_.read_range(pack_object(pack_id), offset, length);
    EXPECT_TRUE(sealed.has_value());
    BlockCodec codec(key, io::Codec::none, 0);
    Opened o;
    o.shape = codec.open_frame(sealed.value_or(Bytes{}), FramePlace{pack_id, offset}, o.data);
    return o;
  }
  // Opens the frame an entry points at, the way restore does: by its manifest coordinates.
  Opened open_frame(const Written& w, const PackEntry& e, const MasterKey& key) {
    return open_at(w.pack_id, e.offset, e.length, key);
  }
  Opened open_frame(const Written& w, const PackEntry& e) { return open_frame(w, e, key_); }
  // The block an entry names, cut out of its opened frame after checking the frame holds it: the
  // index within the frame's count, the content hashing to the entry's id.
  Bytes block(const Written& w, std::size_t i) {
    const PackEntry& e = w.entries[i];
    Opened o = open_frame(w, e);
    EXPECT_LT(e.index, o.shape.count);
    if (e.index >= o.shape.count) return {};
    std::size_t at = static_cast<std::size_t>(e.index) * kBlockBytes;
    EXPECT_LE(at + e.raw_length, o.data.size());
    if (at + e.raw_length > o.data.size()) return {};
    Bytes b(o.data.begin() + static_cast<std::ptrdiff_t>(at), o.data.begin() + static_cast<std::ptrdiff_t>(at + e.raw_length));
    EXPECT_EQ(BlockCodec(key_, io::Codec::none, 0).id_of(b), e.id);
    return b;
  }
  // The first entry of frame f.
  static const PackEntry& first_of(const Written& w, std::size_t f) {
    for (std::size_t i = 0; i < w.entries.size(); ++i)
      if (w.frame_of[i] == f) return w.entries[i];
    throw Error(ErrorKind::internal, "no frame " + std::to_string(f));
  }
  // The entries of the frame at offset, by index.
  static std::vector<PackEntry> blocks_at(const std::vector<PackEntry>& entries, std::uint32_t offset) {
    std::vector<PackEntry> out;
    for (const auto& e : entries)
      if (e.offset == offset) out.push_back(e);
    return out;
  }

  void expect_frame_unauthentic(const std::string& pack_id, std::uint32_t offset, std::uint32_t length) {
    Error e = error_of([&] { open_at(pack_id, offset, length, key_); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "frame: authentication failed");
  }
};

TEST_F(PackTest, PackIdsAreRandomHexAndFanOut) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::string id = new_pack_id();
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(pack_object("3fa2c1d4"), "packs/3f/3fa2c1d4");
}

TEST_F(PackTest, RoundTripWithEveryCodec) {
  for (io::Codec c : {io::Codec::zstd, io::Codec::lz4, io::Codec::none}) {
    SCOPED_TRACE(std::string(io::to_string(c)));
    Written w = write_pack(c);
    PackTrailer trailer = read_pack_trailer(store_, key_, w.pack_id);
    EXPECT_EQ(trailer.block_bytes, kBlockBytes);
    EXPECT_EQ(trailer.stored_bytes, raw(pack_object(w.pack_id)).size() - w.body_bytes);
    ASSERT_EQ(trailer.entries.size(), w.entries.size());
    std::uint32_t next_offset = 0;
    for (std::size_t i = 0; i < trailer.entries.size(); ++i) {
      SCOPED_TRACE("block " + std::to_string(i));
      const PackEntry& t = trailer.entries[i];
      const PackEntry& e = w.entries[i];
      const PackEntry& first = first_of(w, w.frame_of[i]);
      EXPECT_EQ(t.id, e.id);
      EXPECT_EQ(t.offset, e.offset);
      EXPECT_EQ(t.length, e.length);
      EXPECT_EQ(t.index, e.index);
      EXPECT_EQ(t.raw_length, e.raw_length);
      // What add_frame returned: the block's own id, index and length; its frame's place.
      EXPECT_EQ(e.id, BlockCodec(key_, c, 3).id_of(w.blocks[i]));
      EXPECT_EQ(e.raw_length, w.blocks[i].size());
      EXPECT_EQ(e.index, static_cast<std::size_t>(&e - &first));
      EXPECT_EQ(e.offset, first.offset);
      EXPECT_EQ(e.length, first.length);
      if (e.index == 0) {
        EXPECT_EQ(e.offset, next_offset);  // frames sit back to back
        next_offset += e.length;
      }
      EXPECT_EQ(block(w, i), w.blocks[i]);
    }
    EXPECT_EQ(next_offset, w.body_bytes);
    // Each frame's header agrees with what was put in it.
    for (std::size_t f = 0; f < w.frames.size(); ++f) {
      Opened o = open_frame(w, first_of(w, f));
      EXPECT_EQ(o.shape.count, w.frames[f].size());
      EXPECT_EQ(o.shape.raw_bytes, test::concat(w.frames[f]).size());
      EXPECT_EQ(o.data, test::concat(w.frames[f]));
    }
    // Compressible frames shrink unless the codec is none; a random block never does.
    if (c != io::Codec::none) {
      EXPECT_LT(first_of(w, 0).length, kMaxFrameBlocks * kBlockBytes);
    }
    EXPECT_GT(first_of(w, 1).length, kBlockBytes);
    EXPECT_EQ(w.entries.back().raw_length, 4u);
  }
}

TEST_F(PackTest, TrailerHoldsOneEntryPerFrame) {
  // The ids are stored once, in the trailer, with one entry per frame: its sealed length is the
  // block size, then 13 bytes per frame and 16 per block, plus the seal's nonce and tag.
  Written w = write_pack(io::Codec::zstd);
  const Bytes pack = raw(pack_object(w.pack_id));
  const std::size_t tail = pack.size() - kTailBytes;
  const std::uint32_t trailer_length = get_u32le(pack.data() + tail);
  EXPECT_EQ(trailer_length,
            io::kAeadOverheadBytes + 4 + (13 + 16 * kMaxFrameBlocks) + (13 + 16 * 1) + (13 + 16 * 1) + (13 + 16 * 3));
  EXPECT_EQ(trailer_length, sealed_trailer_bytes({kMaxFrameBlocks, 1, 1, 3}));
  EXPECT_EQ(get_u32le(pack.data() + tail + 4), kVersion);
  EXPECT_EQ(tail - trailer_length, w.body_bytes);
  EXPECT_EQ(read_pack_trailer(store_, key_, w.pack_id).stored_bytes, trailer_length + kTailBytes);

  // Opened by hand with the data key and the trailer aad, it reads as pack.h lays it out.
  io::Aead aead(key_.data_key().view());
  Bytes table;
  aead.open(ByteView(pack).subspan(tail - trailer_length, trailer_length),
            to_bytes(std::string(kAadPackTrailer) + w.pack_id), table);
  ASSERT_GE(table.size(), 4u);
  EXPECT_EQ(get_u32le(table.data() + 0), kBlockBytes);
  std::size_t at = 4;
  for (std::size_t f = 0; f < w.frames.size(); ++f) {
    SCOPED_TRACE("frame " + std::to_string(f));
    const PackEntry& first = first_of(w, f);
    ASSERT_LE(at + kFrameEntryBytes, table.size());
    EXPECT_EQ(get_u32le(table.data() + at), first.offset);
    EXPECT_EQ(get_u32le(table.data() + at + 4), first.length);
    ASSERT_EQ(table[at + 8], w.frames[f].size());
    EXPECT_EQ(get_u32le(table.data() + at + 9), test::concat(w.frames[f]).size());  // the frame's whole length
    at += kFrameEntryBytes;
    for (const PackEntry& e : blocks_at(w.entries, first.offset)) {
      ASSERT_LE(at + kIdBytes, table.size());
      EXPECT_TRUE(std::equal(e.id.begin(), e.id.end(), table.begin() + static_cast<std::ptrdiff_t>(at)));
      at += kIdBytes;
    }
  }
  EXPECT_EQ(at, table.size());

  // A pack of full frames only reaches the bound repack plans with, exactly.
  std::string full = new_pack_id();
  BlockCodec codec(key_, io::Codec::zstd, 3);
  PackWriter writer(store_, key_, full, kBlockBytes);
  for (std::uint32_t f = 0; f < 2; ++f) {
    Bytes data = mixed_data(kMaxFrameBlocks * kBlockBytes, 10 + f);
    std::vector<BlockId> ids;
    for (const Bytes& b : split(data)) ids.push_back(codec.id_of(b));
    writer.add_frame(codec, ids, data);
  }
  const std::uint64_t body = writer.size_bytes();
  EXPECT_EQ(writer.commit() - body, pack_overhead_bound(2));
  EXPECT_EQ(read_pack_trailer(store_, key_, full).stored_bytes, pack_overhead_bound(2));
}

TEST_F(PackTest, FullDiskWhileStoringAPackLeavesNoPack) {
  storage::FaultyStorage faulty(store_);
  faulty.fail_writes_after_bytes(20000);
  std::string id = new_pack_id();
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Error e = error_of([&] {
    PackWriter pack(faulty, key_, id, kBlockBytes);
    for (std::uint32_t f = 0; f < 2; ++f) add_random_frame(pack, codec, f);
    pack.commit();
  });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_EQ(std::string(e.what()),
            "unable to write object: " + store_.describe() + "/" + pack_object(id) + " (No space left on device)");
  EXPECT_TRUE(store_.list(kPacksDir).empty());
  Error missing = error_of([&] { read_pack_trailer(store_, key_, id); });
  EXPECT_EQ(missing.kind(), ErrorKind::not_found);
}

// A pack is not held in memory until commit: each frame reaches the storage as it is added (a
// backup's memory must not grow with the pack size), yet nothing is visible before commit.
TEST_F(PackTest, FramesAreStreamedAndInvisibleUntilCommit) {
  storage::FaultyStorage faulty(store_);
  std::string id = new_pack_id();
  BlockCodec codec(key_, io::Codec::zstd, 3);
  PackWriter pack(faulty, key_, id, kBlockBytes);
  for (std::uint32_t f = 0; f < 3; ++f) {
    add_random_frame(pack, codec, f);
    EXPECT_EQ(faulty.counts().bytes_written, pack.size_bytes());
    EXPECT_EQ(faulty.counts().write, f + 1);
  }
  EXPECT_EQ(faulty.counts().create, 1u);
  EXPECT_TRUE(store_.list(kPacksDir).empty());
  std::uint64_t stored = pack.commit();
  EXPECT_EQ(store_.stat(pack_object(id))->size_bytes, stored);
  EXPECT_EQ(read_pack_trailer(store_, key_, id).entries.size(), 12u);
}

TEST_F(PackTest, EmptyPackHasAnEmptyTrailer) {
  std::string id = new_pack_id();
  PackWriter pack(store_, key_, id, kBlockBytes);
  EXPECT_EQ(pack.commit(), sealed_trailer_bytes({}) + kTailBytes);
  PackTrailer trailer = read_pack_trailer(store_, key_, id);
  EXPECT_TRUE(trailer.entries.empty());
  EXPECT_EQ(trailer.block_bytes, kBlockBytes);  // even with no frame, the block size is stated
}

TEST_F(PackTest, FlippedByteInAFrameFailsThatFrameOnly) {
  Written w = write_pack(io::Codec::zstd);
  const PackEntry& e = first_of(w, 3);
  flip_byte(pack_object(w.pack_id), e.offset + e.length / 2);

  // The trailer is separate: it still reads, so the pack can be salvaged frame by frame.
  EXPECT_EQ(read_pack_trailer(store_, key_, w.pack_id).entries.size(), w.entries.size());
  Error err = error_of([&] { open_frame(w, e); });
  EXPECT_EQ(err.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(err.what()), "frame: authentication failed");
  for (std::size_t i = 0; i < w.entries.size(); ++i) {
    if (w.frame_of[i] == 3) continue;
    EXPECT_EQ(block(w, i), w.blocks[i]) << "block " << i;
  }
}

TEST_F(PackTest, EntryPointingAtAnotherFrameFindsAnotherBlock) {
  // A ref naming a block of frame 3 but the place of frame 0 (a manifest gone wrong): frame 0 opens,
  // being authentic where it lies, but what it holds at that index hashes to another id, and the
  // block sought is nowhere in it.
  Written w = write_pack(io::Codec::zstd);
  BlockCodec codec(key_, io::Codec::none, 0);
  const PackEntry& frame0 = first_of(w, 0);
  Opened o = open_frame(w, frame0);
  std::set<BlockId> held;
  for (std::size_t k = 0; k < o.shape.count; ++k)
    held.insert(codec.id_of(ByteView(o.data).subspan(k * kBlockBytes, kBlockBytes)));
  EXPECT_EQ(o.shape.count, kMaxFrameBlocks);
  for (std::size_t i = 0; i < w.entries.size(); ++i) {
    if (w.frame_of[i] != 3) continue;
    SCOPED_TRACE("block " + std::to_string(i));
    const PackEntry& e = w.entries[i];
    ASSERT_LT(e.index, o.shape.count);
    EXPECT_NE(codec.id_of(ByteView(o.data).subspan(e.index * kBlockBytes, e.raw_length)), e.id);
    EXPECT_EQ(held.count(e.id), 0u);
  }
  // A ref whose offset is off by a byte finds no frame there at all: nothing authentic lies at it.
  expect_frame_unauthentic(w.pack_id, first_of(w, 3).offset + 1, first_of(w, 3).length - 1);
}

TEST_F(PackTest, FrameMovedToAnotherOffsetOrPackIsRefused) {
  // Frames 1 and 2 swapped in the body, and an authentic trailer listing them where they now lie
  // (a writer that moved frames without resealing them): the trailer reads, but each moved frame
  // fails authentication, since its aad names the offset it was written at.
  Written w = write_pack(io::Codec::zstd);
  const std::string object = pack_object(w.pack_id);
  const Bytes good = raw(object);
  const PackEntry f1 = first_of(w, 1);
  const PackEntry f2 = first_of(w, 2);
  ASSERT_NE(f1.length, f2.length);  // a random block stays as it is; a block of zeros shrinks
  ASSERT_EQ(f2.offset, f1.offset + f1.length);
  Bytes body(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(w.body_bytes));
  std::copy_n(good.begin() + f2.offset, f2.length, body.begin() + f1.offset);
  std::copy_n(good.begin() + f1.offset, f1.length, body.begin() + f1.offset + f2.length);
  std::vector<Bytes> rows;
  for (std::size_t f : {std::size_t{0}, std::size_t{2}, std::size_t{1}, std::size_t{3}}) {
    const PackEntry& first = first_of(w, f);
    std::uint32_t offset = f == 2 ? f1.offset : f == 1 ? f1.offset + f2.length : first.offset;
    std::vector<BlockId> ids;
    for (const PackEntry& e : blocks_at(w.entries, first.offset)) ids.push_back(e.id);
    rows.push_back(entry_row(offset, first.length, static_cast<std::uint8_t>(ids.size()),
                             static_cast<std::uint32_t>(test::concat(w.frames[f]).size()), ids));
  }
  write_with_table(w.pack_id, body, trailer_table(kBlockBytes, rows));
  PackTrailer trailer = read_pack_trailer(store_, key_, w.pack_id);
  ASSERT_EQ(trailer.entries.size(), w.entries.size());
  expect_frame_unauthentic(w.pack_id, f1.offset, f2.length);               // frame 2, moved back
  expect_frame_unauthentic(w.pack_id, f1.offset + f2.length, f1.length);  // frame 1, moved on
  // The frames that stayed still open.
  EXPECT_EQ(open_frame(w, first_of(w, 0)).data, test::concat(w.frames[0]));
  EXPECT_EQ(open_frame(w, first_of(w, 3)).data, test::concat(w.frames[3]));

  // Frame 0 copied byte for byte, at the same offset, into another pack: refused there too.
  const std::string other = new_pack_id();
  const PackEntry f0 = first_of(w, 0);
  ASSERT_EQ(f0.offset, 0u);
  write_with_table(other, Bytes(good.begin(), good.begin() + f0.length),
                   trailer_table(kBlockBytes, {entry_row(0, f0.length, kMaxFrameBlocks, kMaxFrameBlocks * kBlockBytes)}));
  ASSERT_EQ(read_pack_trailer(store_, key_, other).entries.size(), kMaxFrameBlocks);
  expect_frame_unauthentic(other, 0, f0.length);
}

TEST_F(PackTest, FlippedByteInTheTrailerOrTailIsCorrupt) {
  Written w = write_pack(io::Codec::lz4);
  const std::string object = pack_object(w.pack_id);
  const Bytes good = raw(object);
  const std::size_t tail = good.size() - kTailBytes;
  const std::size_t trailer = tail - get_u32le(good.data() + tail);

  flip_byte(object, trailer + 20);
  expect_trailer_corrupt(w.pack_id, "trailer fails authentication");

  put_raw(object, good);
  flip_byte(object, good.size() - 1);
  expect_trailer_corrupt(w.pack_id, "no pack tail (truncated?)");

  for (std::uint32_t version : {2u, 4u}) {
    Bytes b = good;
    put_u32_at(b, tail + 4, version);
    put_raw(object, b);
    expect_trailer_corrupt(w.pack_id,
                           "pack format version " + std::to_string(version) + ", this pgdr reads version 3");
  }

  Bytes b = good;
  put_u32_at(b, tail, static_cast<std::uint32_t>(good.size()));
  put_raw(object, b);
  expect_trailer_corrupt(w.pack_id, "trailer length beyond the pack");

  b = good;
  put_u32_at(b, tail, get_u32le(good.data() + tail) - 1);
  put_raw(object, b);
  expect_trailer_corrupt(w.pack_id, "trailer fails authentication");

  // Put back as written, it reads: each refusal above came from its damage.
  put_raw(object, good);
  EXPECT_EQ(read_pack_trailer(store_, key_, w.pack_id).entries.size(), w.entries.size());
}

TEST_F(PackTest, TruncatedPackIsCorrupt) {
  Written w = write_pack(io::Codec::zstd);
  const std::string object = pack_object(w.pack_id);
  const Bytes good = raw(object);
  const std::size_t tail = good.size() - kTailBytes;
  const std::size_t trailer = tail - get_u32le(good.data() + tail);
  struct Case {
    std::string what;
    std::size_t keep;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"last byte", good.size() - 1, "no pack tail (truncated?)"},
      {"the whole tail", tail, "no pack tail (truncated?)"},
      {"the trailer", trailer, "no pack tail (truncated?)"},
      {"inside a frame", first_of(w, 2).offset + 100, "no pack tail (truncated?)"},
      {"shorter than a tail", 10, "shorter than its tail"},
      {"empty", 0, "shorter than its tail"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    put_raw(object, good);
    cut(object, c.keep);
    expect_trailer_corrupt(w.pack_id, c.why);
  }
}

TEST_F(PackTest, WrongKeyIsCorrupt) {
  Written w = write_pack(io::Codec::zstd);
  MasterKey other = MasterKey::generate();
  expect_trailer_corrupt(w.pack_id, "trailer fails authentication", other);
  Error e = error_of([&] { open_frame(w, w.entries[0], other); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "frame: authentication failed");
}

TEST_F(PackTest, PackRenamedToAnotherIdIsCorrupt) {
  // Trailer and frames name the pack they were written for: a copy under another id opens neither.
  Written w = write_pack(io::Codec::zstd);
  std::string other = new_pack_id();
  put_raw(pack_object(other), raw(pack_object(w.pack_id)));
  expect_trailer_corrupt(other, "trailer fails authentication");
  for (std::size_t f = 0; f < w.frames.size(); ++f) {
    SCOPED_TRACE("frame " + std::to_string(f));
    expect_frame_unauthentic(other, first_of(w, f).offset, first_of(w, f).length);
  }
}

TEST_F(PackTest, MissingPackIsNotFound) {
  std::string id = new_pack_id();
  Error e = error_of([&] { read_pack_trailer(store_, key_, id); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()), "missing pack " + pack_object(id) + " in " + store_.describe());
}

// Forwards to an inner storage, but from the n-th read_range on reports the object gone, as when a
// concurrent prune removes a pack between two reads.
class VanishingStorage final : public storage::Storage {
 public:
  VanishingStorage(storage::Storage& inner, int vanish_at_read) : inner_(inner), vanish_at_(vanish_at_read) {}
  std::string describe() const override { return inner_.describe(); }
  storage::Capabilities capabilities() const override { return inner_.capabilities(); }
  std::optional<Bytes> read(std::string_view path) const override { return inner_.read(path); }
  std::optional<Bytes> read_range(std::string_view path, std::uint64_t offset, std::uint64_t length) const override {
    if (++reads_ >= vanish_at_) return std::nullopt;
    return inner_.read_range(path, offset, length);
  }
  std::unique_ptr<storage::Writer> create(std::string_view path) override { return inner_.create(path); }
  bool create_exclusive(std::string_view path, ByteView data) override { return inner_.create_exclusive(path, data); }
  std::optional<storage::ObjectInfo> stat(std::string_view path) const override { return inner_.stat(path); }
  std::vector<storage::ObjectInfo> list(std::string_view prefix) const override { return inner_.list(prefix); }
  void remove(std::string_view path) override { inner_.remove(path); }

 private:
  storage::Storage& inner_;
  int vanish_at_;
  mutable int reads_ = 0;
};

TEST_F(PackTest, PackVanishingWhileItsTrailerIsReadIsNotFound) {
  Written w = write_pack(io::Codec::zstd);
  for (int vanish_at : {1, 2}) {  // before the tail is read, before the trailer is
    SCOPED_TRACE(vanish_at);
    VanishingStorage vanishing(store_, vanish_at);
    Error e = error_of([&] { read_pack_trailer(vanishing, key_, w.pack_id); });
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_EQ(std::string(e.what()), "missing pack " + pack_object(w.pack_id) + " in " + store_.describe());
  }
}

// The trailer rules, each with a trailer sealed by hand with the real key and the trailer aad, so
// that authentication passes and only the rule under test can refuse it. Bodies are filler: the
// trailer is checked without opening frames.

TEST_F(PackTest, CopiedFrameOpensInItsNewPack) {
  // Repacking: frames of pack A copied into pack B after a frame of B's own. Each is resealed for
  // its new place, so it opens there, with A's content, and B's trailer names its blocks.
  Written a = write_pack(io::Codec::zstd);
  const PackTrailer a_trailer = read_pack_trailer(store_, key_, a.pack_id);
  const Bytes a_bytes = raw(pack_object(a.pack_id));
  BlockCodec codec(key_, io::Codec::zstd, 3);
  const std::string b_id = new_pack_id();
  PackWriter b(store_, key_, b_id, kBlockBytes);
  const std::vector<PackEntry> own = add_random_frame(b, codec, 7);

  struct Copy {
    std::size_t frame;  // of A
    std::vector<PackEntry> from;
    std::uint32_t offset = 0;  // in B
  };
  std::vector<Copy> copies;
  for (std::size_t f : {std::size_t{3}, std::size_t{0}}) {
    Copy c{f, blocks_at(a_trailer.entries, first_of(a, f).offset)};
    ASSERT_EQ(c.from.size(), a.frames[f].size());
    const PackEntry& first = c.from.front();
    const std::uint64_t before = b.size_bytes();
    c.offset = b.copy_frame(codec, ByteView(a_bytes).subspan(first.offset, first.length), a.pack_id, c.from);
    EXPECT_EQ(c.offset, before);  // appended where the pack ended
    EXPECT_EQ(b.size_bytes(), before + first.length);  // resealing keeps the length
    copies.push_back(std::move(c));
  }
  EXPECT_EQ(b.block_count(), own.size() + a.frames[3].size() + a.frames[0].size());
  b.commit();

  const Bytes b_bytes = raw(pack_object(b_id));
  const PackTrailer b_trailer = read_pack_trailer(store_, key_, b_id);
  EXPECT_EQ(b_trailer.block_bytes, kBlockBytes);
  ASSERT_EQ(b_trailer.entries.size(), b.block_count());
  for (std::size_t i = 0; i < own.size(); ++i) {
    EXPECT_EQ(b_trailer.entries[i].id, own[i].id);
    EXPECT_EQ(b_trailer.entries[i].offset, 0u);
  }
  std::size_t at = own.size();
  for (const Copy& c : copies) {
    SCOPED_TRACE("frame " + std::to_string(c.frame) + " of A");
    const PackEntry& old = c.from.front();
    for (const PackEntry& e : c.from) {
      const PackEntry& t = b_trailer.entries[at++];
      EXPECT_EQ(t.id, e.id);
      EXPECT_EQ(t.index, e.index);
      EXPECT_EQ(t.raw_length, e.raw_length);
      EXPECT_EQ(t.offset, c.offset);
      EXPECT_EQ(t.length, old.length);
    }
    EXPECT_NE(c.offset, old.offset);
    // Opens in B at its new offset, holding A's blocks.
    Opened o = open_at(b_id, c.offset, old.length, key_);
    EXPECT_EQ(o.shape.count, a.frames[c.frame].size());
    EXPECT_EQ(o.data, test::concat(a.frames[c.frame]));
    // Not A's bytes: sealed anew for B, it does not open where it came from.
    const Bytes in_a(a_bytes.begin() + old.offset, a_bytes.begin() + old.offset + old.length);
    const Bytes in_b(b_bytes.begin() + c.offset, b_bytes.begin() + c.offset + old.length);
    EXPECT_NE(in_b, in_a);
    BlockCodec reader(key_, io::Codec::none, 0);
    Bytes out;
    Error e = error_of([&] { reader.open_frame(in_b, FramePlace{a.pack_id, old.offset}, out); });
    EXPECT_EQ(std::string(e.what()), "frame: authentication failed");
  }
  EXPECT_EQ(at, b_trailer.entries.size());
  // A is untouched.
  EXPECT_EQ(raw(pack_object(a.pack_id)), a_bytes);
  EXPECT_EQ(open_frame(a, first_of(a, 3)).data, test::concat(a.frames[3]));
}

TEST_F(PackTest, CopyOfAFrameThatDoesNotOpenWhereItIsSaidToBeIsRefused) {
  Written a = write_pack(io::Codec::zstd);
  const PackTrailer a_trailer = read_pack_trailer(store_, key_, a.pack_id);
  const Bytes a_bytes = raw(pack_object(a.pack_id));
  const std::vector<PackEntry> blocks = blocks_at(a_trailer.entries, first_of(a, 3).offset);
  const PackEntry& first = blocks.front();
  const Bytes sealed(a_bytes.begin() + first.offset, a_bytes.begin() + first.offset + first.length);
  BlockCodec codec(key_, io::Codec::zstd, 3);
  const std::string b_id = new_pack_id();
  PackWriter b(store_, key_, b_id, kBlockBytes);
  add_random_frame(b, codec, 7);
  const std::uint64_t size = b.size_bytes();

  Bytes damaged = sealed;
  damaged[damaged.size() / 2] ^= 0x04;
  std::vector<PackEntry> wrong_offset = blocks;
  for (PackEntry& e : wrong_offset) e.offset = first_of(a, 2).offset;
  struct Case {
    std::string what;
    const Bytes* sealed;
    std::string from;
    const std::vector<PackEntry>* blocks;
  };
  const std::vector<Case> cases = {
      {"damaged", &damaged, a.pack_id, &blocks},
      {"from another pack", &sealed, b_id, &blocks},
      {"from another offset", &sealed, a.pack_id, &wrong_offset},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Error e = error_of([&] { b.copy_frame(codec, *c.sealed, c.from, *c.blocks); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "frame: authentication failed");
    EXPECT_EQ(b.size_bytes(), size);  // nothing written
    EXPECT_EQ(b.block_count(), 4u);
  }
  // Blocks that are not the whole frame, by index: a caller's mistake, refused before any reading.
  const std::vector<PackEntry> none;
  const std::vector<PackEntry> without_first(blocks.begin() + 1, blocks.end());
  const std::vector<PackEntry> reversed(blocks.rbegin(), blocks.rend());
  Error empty = error_of([&] { b.copy_frame(codec, sealed, a.pack_id, none); });
  EXPECT_EQ(empty.kind(), ErrorKind::internal);
  EXPECT_EQ(std::string(empty.what()), "copy of a frame without its blocks");
  for (const auto* wrong : {&without_first, &reversed}) {
    Error e = error_of([&] { b.copy_frame(codec, sealed, a.pack_id, *wrong); });
    EXPECT_EQ(e.kind(), ErrorKind::internal);
    EXPECT_EQ(std::string(e.what()), "copy of a frame without all its blocks in order");
  }
  EXPECT_EQ(b.size_bytes(), size);

  // The frame from its real place copies, and the pack holds it alone after B's own.
  const std::uint32_t offset = b.copy_frame(codec, sealed, a.pack_id, blocks);
  EXPECT_EQ(offset, size);
  b.commit();
  PackTrailer t = read_pack_trailer(store_, key_, b_id);
  ASSERT_EQ(t.entries.size(), 4u + blocks.size());
  EXPECT_EQ(t.entries.back().offset, offset);
  EXPECT_EQ(open_at(b_id, offset, first.length, key_).data, test::concat(a.frames[3]));
}

}  // namespace
}  // namespace pgdr::repo
