#include "repo/pack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/aead.h"
#include "repo/format.h"
#include "storage/faulty_storage.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::error_of;
using test::mixed_data;
using test::random_data;

constexpr std::size_t kTailBytes = 16;  // trailer_length u32 | version u32 | "PGDRPACK"

std::uint32_t u32_at(const Bytes& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(b[at + static_cast<std::size_t>(i)]) << (8 * i);
  return v;
}
void put_u32_at(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

constexpr std::uint32_t kBlockBytes = 8192;
constexpr std::size_t kEntryBytes = 46;  // id | offset u32 | length u32 | index u16 | raw_length u32

class PackTest : public test::RepoTestBase {
 protected:
  // Adds a frame of four random blocks (seeded by seed) to pack.
  static void add_random_frame(PackWriter& pack, BlockCodec& codec, std::uint32_t seed) {
    Bytes data = random_data(4 * kBlockBytes, seed);
    std::vector<BlockId> ids;
    for (std::size_t i = 0; i < 4; ++i) ids.push_back(codec.id_of(ByteView(data).subspan(i * kBlockBytes, kBlockBytes)));
    pack.add_frame(codec, ids, data, kBlockBytes);
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
    PackWriter pack(store_, key, w.pack_id);
    Bytes end_of_file = mixed_data(2 * kBlockBytes, 3);
    for (char ch : std::string("tail")) end_of_file.push_back(static_cast<std::uint8_t>(ch));
    w.frames = {split(mixed_data(kMaxFrameBlocks * kBlockBytes, 1)), {random_data(kBlockBytes, 2)},
                {Bytes(kBlockBytes, 0)}, split(end_of_file)};
    EXPECT_EQ(w.frames[0].size(), kMaxFrameBlocks);
    EXPECT_EQ(w.frames[3].size(), 3u);
    for (std::size_t f = 0; f < w.frames.size(); ++f) {
      std::vector<BlockId> ids;
      for (const auto& b : w.frames[f]) ids.push_back(codec.id_of(b));
      auto entries = pack.add_frame(codec, ids, test::concat(w.frames[f]), kBlockBytes);
      EXPECT_EQ(entries.size(), ids.size());
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
    EXPECT_EQ(stored, w.body_bytes + io::kAeadOverheadBytes + w.entries.size() * kEntryBytes + kTailBytes);
    return w;
  }
  Written write_pack(io::Codec c) { return write_pack(c, key_); }

  struct Opened {
    std::vector<BlockId> ids;
    Bytes data;
  };
  // Opens the frame an entry points at, the way restore does: by its manifest coordinates.
  Opened open_frame(const Written& w, const PackEntry& e, const MasterKey& key) {
    auto sealed = store_.read_range(pack_object(w.pack_id), e.offset, e.length);
    EXPECT_TRUE(sealed.has_value());
    BlockCodec codec(key, io::Codec::none, 0);
    Opened o;
    codec.open_frame(sealed.value_or(Bytes{}), o.ids, o.data);
    return o;
  }
  Opened open_frame(const Written& w, const PackEntry& e) { return open_frame(w, e, key_); }
  // The block an entry names, cut out of its opened frame after checking the frame holds it.
  Bytes block(const Written& w, std::size_t i) {
    const PackEntry& e = w.entries[i];
    Opened o = open_frame(w, e);
    EXPECT_LT(e.index, o.ids.size());
    if (e.index >= o.ids.size()) return {};
    EXPECT_EQ(o.ids[e.index], e.id);
    std::size_t at = static_cast<std::size_t>(e.index) * kBlockBytes;
    EXPECT_LE(at + e.raw_length, o.data.size());
    if (at + e.raw_length > o.data.size()) return {};
    return Bytes(o.data.begin() + static_cast<std::ptrdiff_t>(at),
                 o.data.begin() + static_cast<std::ptrdiff_t>(at + e.raw_length));
  }
  // The first entry of frame f.
  static const PackEntry& first_of(const Written& w, std::size_t f) {
    for (std::size_t i = 0; i < w.entries.size(); ++i)
      if (w.frame_of[i] == f) return w.entries[i];
    throw Error(ErrorKind::internal, "no frame " + std::to_string(f));
  }

  std::string corrupt(const std::string& pack_id, const std::string& why) const {
    return "corrupt pack " + pack_object(pack_id) + " in " + store_.describe() + " (" + why + ")";
  }
  void expect_trailer_corrupt(const std::string& pack_id, const std::string& why, const MasterKey& key) {
    Error e = error_of([&] { read_pack_trailer(store_, key, pack_id); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), corrupt(pack_id, why));
  }
  void expect_trailer_corrupt(const std::string& pack_id, const std::string& why) {
    expect_trailer_corrupt(pack_id, why, key_);
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
    auto trailer = read_pack_trailer(store_, key_, w.pack_id);
    ASSERT_EQ(trailer.size(), w.entries.size());
    std::uint32_t next_offset = 0;
    for (std::size_t i = 0; i < trailer.size(); ++i) {
      SCOPED_TRACE("block " + std::to_string(i));
      const PackEntry& e = w.entries[i];
      const PackEntry& first = first_of(w, w.frame_of[i]);
      EXPECT_EQ(trailer[i].id, e.id);
      EXPECT_EQ(trailer[i].offset, e.offset);
      EXPECT_EQ(trailer[i].length, e.length);
      EXPECT_EQ(trailer[i].index, e.index);
      EXPECT_EQ(trailer[i].raw_length, e.raw_length);
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
    // Every id in a frame, in order, is that of the entry at the same index.
    for (std::size_t f = 0; f < w.frames.size(); ++f) {
      Opened o = open_frame(w, first_of(w, f));
      ASSERT_EQ(o.ids.size(), w.frames[f].size());
      EXPECT_EQ(o.data, test::concat(w.frames[f]));
      for (std::size_t i = 0; i < w.entries.size(); ++i) {
        if (w.frame_of[i] == f) {
          EXPECT_EQ(o.ids[w.entries[i].index], w.entries[i].id);
        }
      }
    }
    // Compressible frames shrink unless the codec is none; a random block never does.
    if (c != io::Codec::none) {
      EXPECT_LT(first_of(w, 0).length, kMaxFrameBlocks * kBlockBytes);
    }
    EXPECT_GT(first_of(w, 1).length, kBlockBytes);
    EXPECT_EQ(w.entries.back().raw_length, 4u);
  }
}

TEST_F(PackTest, FullDiskWhileStoringAPackLeavesNoPack) {
  storage::FaultyStorage faulty(store_);
  faulty.fail_writes_after_bytes(20000);
  std::string id = new_pack_id();
  BlockCodec codec(key_, io::Codec::zstd, 3);
  Error e = error_of([&] {
    PackWriter pack(faulty, key_, id);
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
  PackWriter pack(faulty, key_, id);
  for (std::uint32_t f = 0; f < 3; ++f) {
    add_random_frame(pack, codec, f);
    EXPECT_EQ(faulty.counts().bytes_written, pack.size_bytes());
    EXPECT_EQ(faulty.counts().write, f + 1);
  }
  EXPECT_EQ(faulty.counts().create, 1u);
  EXPECT_TRUE(store_.list(kPacksDir).empty());
  std::uint64_t stored = pack.commit();
  EXPECT_EQ(store_.stat(pack_object(id))->size_bytes, stored);
  EXPECT_EQ(read_pack_trailer(store_, key_, id).size(), 12u);
}

TEST_F(PackTest, EmptyPackHasAnEmptyTrailer) {
  std::string id = new_pack_id();
  PackWriter pack(store_, key_, id);
  EXPECT_EQ(pack.commit(), io::kAeadOverheadBytes + kTailBytes);
  EXPECT_TRUE(read_pack_trailer(store_, key_, id).empty());
}

TEST_F(PackTest, FlippedByteInAFrameFailsThatFrameOnly) {
  Written w = write_pack(io::Codec::zstd);
  const PackEntry& e = first_of(w, 3);
  flip_byte(pack_object(w.pack_id), e.offset + e.length / 2);

  // The trailer is separate: it still reads, so the pack can be salvaged frame by frame.
  EXPECT_EQ(read_pack_trailer(store_, key_, w.pack_id).size(), w.entries.size());
  Error err = error_of([&] { open_frame(w, e); });
  EXPECT_EQ(err.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(err.what()), "frame: authentication failed");
  for (std::size_t i = 0; i < w.entries.size(); ++i) {
    if (w.frame_of[i] == 3) continue;
    EXPECT_EQ(block(w, i), w.blocks[i]) << "block " << i;
  }
}

TEST_F(PackTest, EntryPointingAtAnotherFrameDoesNotMatchItsIds) {
  // A ref naming a block of frame 3 but the offset of frame 0 (a manifest gone wrong): the frame
  // opens, being authentic, but the id at that index is not the block's.
  Written w = write_pack(io::Codec::zstd);
  for (std::size_t i = 0; i < w.entries.size(); ++i) {
    if (w.frame_of[i] != 3) continue;
    SCOPED_TRACE("block " + std::to_string(i));
    PackEntry moved = w.entries[i];
    moved.offset = first_of(w, 0).offset;
    moved.length = first_of(w, 0).length;
    Opened o = open_frame(w, moved);
    ASSERT_LT(moved.index, o.ids.size());
    EXPECT_NE(o.ids[moved.index], moved.id);
    EXPECT_EQ(std::find(o.ids.begin(), o.ids.end(), moved.id), o.ids.end());
  }
}

TEST_F(PackTest, FlippedByteInTheTrailerOrTailIsCorrupt) {
  Written w = write_pack(io::Codec::lz4);
  const std::string object = pack_object(w.pack_id);
  const Bytes good = raw(object);
  const std::size_t tail = good.size() - kTailBytes;
  const std::size_t trailer = tail - u32_at(good, tail);

  flip_byte(object, trailer + 20);
  expect_trailer_corrupt(w.pack_id, "trailer fails authentication");

  put_raw(object, good);
  flip_byte(object, good.size() - 1);
  expect_trailer_corrupt(w.pack_id, "no pack tail (truncated?)");

  Bytes b = good;
  put_u32_at(b, tail + 4, 2);
  put_raw(object, b);
  expect_trailer_corrupt(w.pack_id, "pack format version 2, this pgdr reads version 1");

  b = good;
  put_u32_at(b, tail, static_cast<std::uint32_t>(good.size()));
  put_raw(object, b);
  expect_trailer_corrupt(w.pack_id, "trailer length beyond the pack");

  b = good;
  put_u32_at(b, tail, u32_at(good, tail) - 1);
  put_raw(object, b);
  expect_trailer_corrupt(w.pack_id, "trailer fails authentication");
}

TEST_F(PackTest, TruncatedPackIsCorrupt) {
  Written w = write_pack(io::Codec::zstd);
  const std::string object = pack_object(w.pack_id);
  const Bytes good = raw(object);
  const std::size_t tail = good.size() - kTailBytes;
  const std::size_t trailer = tail - u32_at(good, tail);
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
  Written w = write_pack(io::Codec::zstd);
  std::string other = new_pack_id();
  put_raw(pack_object(other), raw(pack_object(w.pack_id)));
  expect_trailer_corrupt(other, "trailer fails authentication");
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

TEST_F(PackTest, AuthenticTrailerPointingOutsideThePackIsCorrupt) {
  // Sealed by hand with the real key, so only the bounds check can catch it.
  auto write_with_table = [&](const std::string& id, const Bytes& body, const Bytes& table) {
    Bytes pack = body;
    io::Aead aead(key_.data_key().view());
    std::size_t before = pack.size();
    aead.seal(table, to_bytes(std::string(kAadPackTrailer) + id), pack);
    Bytes tail(kTailBytes);
    put_u32_at(tail, 0, static_cast<std::uint32_t>(pack.size() - before));
    put_u32_at(tail, 4, 1);
    std::copy_n("PGDRPACK", 8, tail.begin() + 8);
    pack.insert(pack.end(), tail.begin(), tail.end());
    put_raw(pack_object(id), pack);
  };
  auto entry = [](std::uint32_t offset, std::uint32_t length, std::uint16_t index) {
    Bytes e(kEntryBytes, 0);
    put_u32_at(e, 32, offset);
    put_u32_at(e, 36, length);
    e[40] = static_cast<std::uint8_t>(index);
    e[41] = static_cast<std::uint8_t>(index >> 8);
    put_u32_at(e, 42, 8192);  // raw_length
    return e;
  };
  std::string id = new_pack_id();
  // The body has 100 bytes.
  write_with_table(id, Bytes(100, 0x5a), entry(90, 20, 0));
  expect_trailer_corrupt(id, "entry beyond the pack body");

  write_with_table(id, Bytes(100, 0x5a), test::concat({entry(0, 100, 15), entry(0, 100, 16)}));
  expect_trailer_corrupt(id, "entry with an impossible frame index");
  write_with_table(id, Bytes(100, 0x5a), entry(0, 100, 0x100));
  expect_trailer_corrupt(id, "entry with an impossible frame index");

  // In bounds, index 15: the last a frame can have; read back field by field.
  write_with_table(id, Bytes(100, 0x5a), test::concat({entry(0, 60, 0), entry(60, 40, 15)}));
  auto entries = read_pack_trailer(store_, key_, id);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].offset, 60u);
  EXPECT_EQ(entries[1].length, 40u);
  EXPECT_EQ(entries[1].index, 15u);
  EXPECT_EQ(entries[1].raw_length, 8192u);

  Bytes odd(kEntryBytes - 1, 0);
  write_with_table(id, Bytes(100, 0x5a), odd);
  expect_trailer_corrupt(id, "trailer of odd length");
}

}  // namespace
}  // namespace pgdr::repo
