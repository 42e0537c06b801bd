#include "repo/pack.h"

#include <gtest/gtest.h>

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

class PackTest : public test::RepoTestBase {
 protected:
  struct Written {
    std::string pack_id;
    std::vector<Bytes> blocks;
    std::vector<PackEntry> entries;
  };

  // A committed pack of page-sized blocks: compressible, random, all zeros, short.
  Written write_pack(io::Codec c, const MasterKey& key) {
    Written w;
    w.pack_id = new_pack_id();
    BlockCodec codec(key, c, 3);
    PackWriter pack(store_, key, w.pack_id);
    w.blocks = {mixed_data(8192, 1), random_data(8192, 2), Bytes(8192, 0), mixed_data(8192, 3), to_bytes("tail")};
    for (const auto& b : w.blocks) w.entries.push_back(pack.add(codec, codec.id_of(b), b));
    EXPECT_EQ(pack.blob_count(), w.blocks.size());
    std::uint64_t body = pack.size_bytes();
    std::uint64_t stored = pack.commit();
    EXPECT_EQ(stored, raw(pack_object(w.pack_id)).size());
    EXPECT_EQ(stored, body + io::kAeadOverheadBytes + w.blocks.size() * 44 + kTailBytes);
    return w;
  }
  Written write_pack(io::Codec c) { return write_pack(c, key_); }

  // Opens blob i of a pack the way restore does: by its manifest coordinates.
  Bytes open_blob(const Written& w, std::size_t i, const MasterKey& key) {
    const PackEntry& e = w.entries[i];
    auto blob = store_.read_range(pack_object(w.pack_id), e.offset, e.length);
    EXPECT_TRUE(blob.has_value());
    BlockCodec codec(key, io::Codec::none, 0);
    Bytes out;
    codec.open(e.id, *blob, e.raw_length, out);
    return out;
  }
  Bytes open_blob(const Written& w, std::size_t i) { return open_blob(w, i, key_); }

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
      EXPECT_EQ(trailer[i].id, w.entries[i].id);
      EXPECT_EQ(trailer[i].offset, w.entries[i].offset);
      EXPECT_EQ(trailer[i].length, w.entries[i].length);
      EXPECT_EQ(trailer[i].raw_length, w.blocks[i].size());
      EXPECT_EQ(trailer[i].offset, next_offset);  // blobs sit back to back
      next_offset += trailer[i].length;
      EXPECT_EQ(open_blob(w, i), w.blocks[i]);
    }
    // Compressible blocks shrink unless the codec is none; random ones never do.
    if (c != io::Codec::none) {
      EXPECT_LT(w.entries[0].length, 8192u);
    }
    EXPECT_GT(w.entries[1].length, 8192u);
  }
}

TEST_F(PackTest, FullDiskWhileStoringAPackLeavesNoPack) {
  storage::FaultyStorage faulty(store_);
  faulty.fail_writes_after_bytes(20000);
  std::string id = new_pack_id();
  BlockCodec codec(key_, io::Codec::zstd, 3);
  PackWriter pack(faulty, key_, id);
  for (std::uint32_t i = 0; i < 8; ++i) {
    Bytes b = random_data(8192, i);
    pack.add(codec, codec.id_of(b), b);
  }
  Error e = error_of([&] { pack.commit(); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_EQ(std::string(e.what()),
            "unable to write object: " + store_.describe() + "/" + pack_object(id) + " (No space left on device)");
  EXPECT_TRUE(store_.list(kPacksDir).empty());
  Error missing = error_of([&] { read_pack_trailer(store_, key_, id); });
  EXPECT_EQ(missing.kind(), ErrorKind::not_found);
}

TEST_F(PackTest, EmptyPackHasAnEmptyTrailer) {
  std::string id = new_pack_id();
  PackWriter pack(store_, key_, id);
  EXPECT_EQ(pack.commit(), io::kAeadOverheadBytes + kTailBytes);
  EXPECT_TRUE(read_pack_trailer(store_, key_, id).empty());
}

TEST_F(PackTest, FlippedByteInABlobFailsThatBlobOnly) {
  Written w = write_pack(io::Codec::zstd);
  const PackEntry& e = w.entries[3];
  flip_byte(pack_object(w.pack_id), e.offset + e.length / 2);

  // The trailer is separate: it still reads, so the pack can be salvaged blob by blob.
  EXPECT_EQ(read_pack_trailer(store_, key_, w.pack_id).size(), w.entries.size());
  Error err = error_of([&] { open_blob(w, 3); });
  EXPECT_EQ(err.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(err.what()), "block " + to_hex(ByteView(e.id.data(), 8)) + ": authentication failed");
  EXPECT_EQ(open_blob(w, 2), w.blocks[2]);
  EXPECT_EQ(open_blob(w, 4), w.blocks[4]);
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
      {"inside a blob", w.entries[2].offset + 100, "no pack tail (truncated?)"},
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
  Error e = error_of([&] { open_blob(w, 0, other); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "block " + to_hex(ByteView(w.entries[0].id.data(), 8)) + ": authentication failed");
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
  Bytes entry(44, 0);
  put_u32_at(entry, 32, 90);  // offset
  put_u32_at(entry, 36, 20);  // length: ends at 110, the body has 100
  put_u32_at(entry, 40, 20);
  std::string id = new_pack_id();
  write_with_table(id, Bytes(100, 0x5a), entry);
  expect_trailer_corrupt(id, "entry beyond the pack body");

  Bytes odd(43, 0);
  write_with_table(id, Bytes(100, 0x5a), odd);
  expect_trailer_corrupt(id, "trailer of odd length");
}

}  // namespace
}  // namespace pgdr::repo
