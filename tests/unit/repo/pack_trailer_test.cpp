// A pack's trailer as readers parse it: each field of the layout repo/pack.h documents, and each
// rule a reader refuses a trailer by, on packs whose trailer is sealed by hand with the real key
// (so only the rule under test fails), through both readers (from the storage and in memory).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pack_test_support.h"

namespace pgdr::repo {
namespace {

using namespace test_pack;
using PackTrailerTest = PackFixture;

TEST_F(PackTrailerTest, HandSealedTrailerIsReadFieldByField) {
  // Three frames: one full block, then 3 blocks with a short last one, then 16 blocks ending at the
  // end of the body; the entries come out one per block.
  std::string id = new_pack_id();
  const Bytes table = trailer_table(kBlockBytes, {entry_row(0, 60, 1, kBlockBytes, 1),
                                                  entry_row(60, 20, 3, 2 * kBlockBytes + 5, 10),
                                                  entry_row(80, 20, 16, 16 * kBlockBytes, 20)});
  write_with_table(id, Bytes(100, 0x5a), table);
  PackTrailer t = read_pack_trailer(store_, key_, id);
  EXPECT_EQ(t.block_bytes, kBlockBytes);
  EXPECT_EQ(t.stored_bytes, io::kAeadOverheadBytes + table.size() + kTailBytes);
  ASSERT_EQ(t.entries.size(), 20u);
  EXPECT_EQ(t.entries[0].id, tagged_id(1));
  EXPECT_EQ(t.entries[0].offset, 0u);
  EXPECT_EQ(t.entries[0].length, 60u);
  EXPECT_EQ(t.entries[0].index, 0u);
  EXPECT_EQ(t.entries[0].raw_length, kBlockBytes);
  for (std::uint16_t i = 0; i < 3; ++i) {
    SCOPED_TRACE("second frame, block " + std::to_string(i));
    const PackEntry& e = t.entries[1 + i];
    EXPECT_EQ(e.id, tagged_id(static_cast<std::uint8_t>(10 + i)));
    EXPECT_EQ(e.offset, 60u);
    EXPECT_EQ(e.length, 20u);
    EXPECT_EQ(e.index, i);
    EXPECT_EQ(e.raw_length, i < 2 ? kBlockBytes : 5u);  // the last block holds what the others do not
  }
  for (std::uint16_t i = 0; i < 16; ++i) {
    const PackEntry& e = t.entries[4 + i];
    EXPECT_EQ(e.id, tagged_id(static_cast<std::uint8_t>(20 + i)));
    EXPECT_EQ(e.offset, 80u);
    EXPECT_EQ(e.index, i);
    EXPECT_EQ(e.raw_length, kBlockBytes);
  }
  // The in-memory reader agrees.
  PackTrailer m = parse_pack_trailer(raw(pack_object(id)), key_, id, "memory");
  EXPECT_EQ(m.block_bytes, t.block_bytes);
  EXPECT_EQ(m.stored_bytes, t.stored_bytes);
  ASSERT_EQ(m.entries.size(), t.entries.size());
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    EXPECT_EQ(m.entries[i].id, t.entries[i].id);
    EXPECT_EQ(m.entries[i].offset, t.entries[i].offset);
    EXPECT_EQ(m.entries[i].raw_length, t.entries[i].raw_length);
  }
}

TEST_F(PackTrailerTest, PackOfAnotherVersionIsRefused) {
  // Version 1 packs came from development builds (ids in frames, an entry per block); a later
  // version is unknown. The trailer is valid: the version alone refuses them.
  std::string id = new_pack_id();
  const Bytes table = trailer_table(kBlockBytes, {entry_row(0, 100, 1, kBlockBytes)});
  for (std::uint32_t version : {0u, 1u, 2u, 4u}) {
    SCOPED_TRACE(version);
    write_with_table(id, Bytes(100, 0), table, version);
    expect_trailer_corrupt(id, "pack format version " + std::to_string(version) + ", this pgdr reads version 3");
    // The tail alone tells the version, for messages where no trailer is read (restore).
    EXPECT_EQ(pack_version(store_, id), std::optional<std::uint32_t>(version));
  }
  write_with_table(id, Bytes(100, 0), table, kVersion);
  EXPECT_EQ(read_pack_trailer(store_, key_, id).entries.size(), 1u);
  EXPECT_EQ(pack_version(store_, id), std::optional<std::uint32_t>(kVersion));
}

TEST_F(PackTrailerTest, APackWithoutATailHasNoVersion) {
  const std::string id = new_pack_id();
  EXPECT_EQ(pack_version(store_, id), std::nullopt);  // missing
  put_raw(pack_object(id), Bytes(kTailBytes - 1, 0));
  EXPECT_EQ(pack_version(store_, id), std::nullopt);  // shorter than a tail
  Bytes no_magic(100, 0);
  put_u32le(no_magic, 0);
  put_u32le(no_magic, kVersion);
  for (char c : std::string_view("PGDRPAKC")) no_magic.push_back(static_cast<std::uint8_t>(c));
  put_raw(pack_object(id), no_magic);
  EXPECT_EQ(pack_version(store_, id), std::nullopt);
}

TEST_F(PackTrailerTest, TrailerWithoutAPossibleBlockSizeIsCorrupt) {
  std::string id = new_pack_id();
  struct Case {
    std::string what;
    Bytes table;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"empty", Bytes{}, "trailer without a block size"},
      {"three bytes", Bytes{0x00, 0x20, 0x00}, "trailer without a block size"},
      {"block size 0", trailer_table(0, {}), "trailer with an impossible block size"},
      {"block size 0 with a frame", trailer_table(0, {entry_row(0, 100, 1, 1)}), "trailer with an impossible block size"},
      {"block size 1 MiB + 1", trailer_table((1u << 20) + 1, {}), "trailer with an impossible block size"},
      {"block size 4 GiB - 1", trailer_table(0xffffffffu, {}), "trailer with an impossible block size"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    write_with_table(id, Bytes(100, 0), c.table);
    expect_trailer_corrupt(id, c.why);
  }
  // The bounds are admitted: 1 MiB blocks sixteen to a frame, and 1-byte blocks.
  write_with_table(id, Bytes(100, 0), trailer_table(1u << 20, {entry_row(0, 100, 16, 16u << 20)}));
  PackTrailer big = read_pack_trailer(store_, key_, id);
  EXPECT_EQ(big.block_bytes, 1u << 20);
  ASSERT_EQ(big.entries.size(), 16u);
  EXPECT_EQ(big.entries[15].raw_length, 1u << 20);
  write_with_table(id, Bytes(100, 0), trailer_table(1, {entry_row(0, 100, 3, 3)}));
  PackTrailer tiny = read_pack_trailer(store_, key_, id);
  EXPECT_EQ(tiny.block_bytes, 1u);
  ASSERT_EQ(tiny.entries.size(), 3u);
  EXPECT_EQ(tiny.entries[2].raw_length, 1u);
}

TEST_F(PackTrailerTest, TrailerOfOddLengthIsCorrupt) {
  std::string id = new_pack_id();
  const Bytes good = entry_row(0, 50, 2, 2 * kBlockBytes);
  const Bytes fewer_ids = entry_row(0, 50, 2, 2 * kBlockBytes, tagged_ids(1, 1));  // says 2 blocks, names 1
  Bytes short_id = good;
  short_id.pop_back();  // the last id one byte short
  Bytes second_without_ids = entry_row(50, 50, 1, kBlockBytes);
  second_without_ids.resize(kFrameEntryBytes);
  const std::vector<Rows> cases = {
      {"an entry cut inside its fixed fields", {Bytes(kFrameEntryBytes - 1, 0)}},
      {"a stray byte after the block size", {Bytes{0x01}}},
      {"fewer ids than the count", {fewer_ids}},
      {"the last id cut short", {short_id}},
      {"a stray byte after a whole entry", {good, Bytes{0x00}}},
      {"a second entry cut inside its fixed fields", {good, Bytes(kFrameEntryBytes - 1, 0)}},
      {"a second entry without its ids", {good, second_without_ids}},
  };
  expect_each_refused(id, cases, "trailer of odd length");
  // Whole, the entries read.
  write_with_table(id, Bytes(100, 0), trailer_table(kBlockBytes, {good, entry_row(50, 50, 1, kBlockBytes)}));
  EXPECT_EQ(read_pack_trailer(store_, key_, id).entries.size(), 3u);
}

TEST_F(PackTrailerTest, EntryWithAnImpossibleBlockCountIsCorrupt) {
  std::string id = new_pack_id();
  const std::vector<Rows> cases = {
      {"no block", {entry_row(0, 100, 0, 0)}},
      {"no block, claiming a length", {entry_row(0, 100, 0, kBlockBytes)}},
      // One id more than a frame holds follows and the length fits them: only the count is wrong.
      {"one block too many",
       {entry_row(0, 100, static_cast<std::uint8_t>(kMaxFrameBlocks + 1),
                  static_cast<std::uint32_t>((kMaxFrameBlocks + 1) * kBlockBytes))}},
      {"255 blocks", {entry_row(0, 100, 255, 255 * kBlockBytes)}},
  };
  expect_each_refused(id, cases, "entry with an impossible block count");
  // After a good entry too.
  constexpr auto kTooMany = static_cast<std::uint8_t>(kMaxFrameBlocks + 1);
  write_with_table(id, Bytes(100, 0),
                   trailer_table(kBlockBytes, {entry_row(0, 50, 1, kBlockBytes),
                                               entry_row(50, 50, kTooMany, kTooMany * kBlockBytes)}));
  expect_trailer_corrupt(id, "entry with an impossible block count");
  // A full frame is the most a frame holds, and is read.
  constexpr auto kFull = static_cast<std::uint8_t>(kMaxFrameBlocks);
  write_with_table(id, Bytes(100, 0), trailer_table(kBlockBytes, {entry_row(0, 100, kFull, kFull * kBlockBytes)}));
  EXPECT_EQ(read_pack_trailer(store_, key_, id).entries.size(), kMaxFrameBlocks);
}

TEST_F(PackTrailerTest, EntryWhoseLengthDoesNotFitItsBlocksIsCorrupt) {
  // Every block but a frame's last is a whole block, and the last holds at least a byte: a frame of
  // count blocks holds more than (count - 1) and at most count blocks' worth.
  std::string id = new_pack_id();
  struct Case {
    std::uint8_t count;
    std::uint32_t raw_length;
  };
  const std::vector<Case> refused = {
      {1, 0},
      {1, kBlockBytes + 1},
      {2, kBlockBytes},          // the last block would be empty
      {2, 2 * kBlockBytes + 1},  // or hold more than a block
      {3, 1},
      {16, 15 * kBlockBytes},
      {16, 16 * kBlockBytes + 1},
      {16, 0xffffffffu},
  };
  for (const auto& c : refused) {
    SCOPED_TRACE(std::to_string(c.count) + " blocks, " + std::to_string(c.raw_length) + " bytes");
    write_with_table(id, Bytes(100, 0), trailer_table(kBlockBytes, {entry_row(0, 100, c.count, c.raw_length)}));
    expect_trailer_corrupt(id, "entry whose length does not fit its blocks");
  }
  const std::vector<Case> admitted = {
      {1, 1}, {1, kBlockBytes}, {2, kBlockBytes + 1}, {2, 2 * kBlockBytes}, {16, 15 * kBlockBytes + 1}, {16, 16 * kBlockBytes},
  };
  for (const auto& c : admitted) {
    SCOPED_TRACE(std::to_string(c.count) + " blocks, " + std::to_string(c.raw_length) + " bytes");
    write_with_table(id, Bytes(100, 0), trailer_table(kBlockBytes, {entry_row(0, 100, c.count, c.raw_length)}));
    PackTrailer t = read_pack_trailer(store_, key_, id);
    ASSERT_EQ(t.entries.size(), c.count);
    std::uint64_t sum = 0;
    for (const PackEntry& e : t.entries) sum += e.raw_length;
    EXPECT_EQ(sum, c.raw_length);
    EXPECT_EQ(t.entries.front().raw_length, std::min(kBlockBytes, c.raw_length));
  }
}

TEST_F(PackTrailerTest, EntriesOutOfOrderOrOverlappingAreCorrupt) {
  std::string id = new_pack_id();
  const std::vector<Rows> cases = {
      {"an empty frame", {entry_row(0, 0, 1, kBlockBytes)}},
      {"an empty frame after another", {entry_row(0, 50, 1, kBlockBytes), entry_row(50, 0, 1, kBlockBytes)}},
      {"overlapping by a byte", {entry_row(0, 50, 1, kBlockBytes), entry_row(49, 51, 1, kBlockBytes)}},
      {"the same frame twice", {entry_row(0, 50, 1, kBlockBytes), entry_row(0, 50, 1, kBlockBytes)}},
      {"listed out of order", {entry_row(50, 50, 1, kBlockBytes), entry_row(0, 50, 1, kBlockBytes)}},
      {"one inside another", {entry_row(0, 100, 1, kBlockBytes), entry_row(10, 10, 1, kBlockBytes)}},
  };
  expect_each_refused(id, cases, "entries out of order or overlapping");
  // Frames back to back, in order, are read.
  write_with_table(id, Bytes(100, 0),
                   trailer_table(kBlockBytes, {entry_row(0, 50, 1, kBlockBytes), entry_row(50, 50, 1, kBlockBytes)}));
  EXPECT_EQ(read_pack_trailer(store_, key_, id).entries.size(), 2u);
}

TEST_F(PackTrailerTest, AuthenticTrailerPointingOutsideThePackIsCorrupt) {
  std::string id = new_pack_id();
  // The body has 100 bytes; what follows is the trailer, which no frame may reach into.
  const std::vector<Rows> cases = {
      {"ending past the body", {entry_row(90, 20, 1, kBlockBytes)}},
      {"one byte too long", {entry_row(0, 101, 1, kBlockBytes)}},
      {"starting at the body's end", {entry_row(100, 1, 1, kBlockBytes)}},
      // In 32 bits the end would wrap around to 16, inside the body.
      {"end past 4 GiB", {entry_row(0xfffffff0u, 0x20, 1, kBlockBytes)}},
  };
  expect_each_refused(id, cases, "entry beyond the pack body", 0x5a);
  // Reaching exactly the body's end is in bounds.
  write_with_table(id, Bytes(100, 0x5a), trailer_table(kBlockBytes, {entry_row(0, 60, 1, kBlockBytes), entry_row(60, 40, 1, 1)}));
  PackTrailer t = read_pack_trailer(store_, key_, id);
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(t.entries[1].offset, 60u);
  EXPECT_EQ(t.entries[1].length, 40u);
  EXPECT_EQ(t.entries[1].raw_length, 1u);
}

}  // namespace
}  // namespace pgdr::repo
