#include "verify/proven_blocks.h"

#include <gtest/gtest.h>

#include <thread>

namespace pgdr::verify {
namespace {

repo::BlockId tagged(std::uint32_t pack, std::uint32_t offset, std::uint16_t index) {
  repo::BlockId d{};
  d[0] = static_cast<std::uint8_t>(pack);
  d[1] = static_cast<std::uint8_t>(offset >> 8);
  d[2] = static_cast<std::uint8_t>(offset);
  d[3] = static_cast<std::uint8_t>(index);
  d[15] = 0xa5;
  return d;
}

// Frames at offsets 0, 1000, 2000, ... of 16 blocks each, handed over in reverse order (pass 1
// records a pack's blocks in whatever order its frames were proven).
std::vector<ProvenBlock> pack_blocks(std::uint32_t pack, std::uint32_t frames) {
  std::vector<ProvenBlock> out;
  for (std::uint32_t f = frames; f-- > 0;)
    for (std::uint16_t i = 16; i-- > 0;)
      out.push_back({f * 1000, i, tagged(pack, f * 1000, i)});
  return out;
}

TEST(ProvenBlocksTest, EveryRecordedBlockIsFoundAcrossMorePacksThanALookupKeeps) {
  constexpr std::uint32_t kPacks = 9;
  ProvenBlocks all(kPacks + 1);  // the last pack number is never recorded: unreadable in pass 1
  std::vector<std::thread> workers;
  for (std::uint32_t p = 0; p < kPacks; ++p) workers.emplace_back([&all, p] { all.add(p, pack_blocks(p, p + 1)); });
  for (auto& w : workers) w.join();
  EXPECT_EQ(all.count(), 16u * (kPacks * (kPacks + 1) / 2));

  ProvenBlocks::Lookup lookup(all);
  // Packs visited in a scattered order (5 and 9 are coprime), three times over: each pack is
  // evicted and read back from the spool; each answer must still be exact.
  for (int round = 0; round < 3; ++round)
    for (std::uint32_t p = 0; p < kPacks; ++p) {
      const std::uint32_t pack = (p * 5) % kPacks;
      for (std::uint32_t f = 0; f <= pack + 1; ++f)
        for (std::uint16_t i = 0; i < 16; ++i) {
          const ProvenBlock* b = lookup.find(pack, f * 1000, i);
          if (f > pack) {
            EXPECT_EQ(b, nullptr);
            continue;
          }
          ASSERT_NE(b, nullptr) << pack << " " << f << " " << i;
          EXPECT_EQ(b->id, tagged(pack, f * 1000, i));
        }
    }
}

TEST(ProvenBlocksTest, BlocksAreFoundInWhateverOrderTheyAreAskedFor) {
  // In order (a file's blocks, the usual case), backwards, the same block twice, and two packs
  // taking turns: each answer is the block asked for.
  ProvenBlocks all(2);
  all.add(0, pack_blocks(0, 3));
  all.add(1, pack_blocks(1, 3));
  ProvenBlocks::Lookup lookup(all);
  auto expect_found = [&](std::uint32_t pack, std::uint32_t offset, std::uint16_t index) {
    const ProvenBlock* b = lookup.find(pack, offset, index);
    ASSERT_NE(b, nullptr) << pack << " " << offset << " " << index;
    EXPECT_EQ(b->id, tagged(pack, offset, index));
  };
  for (std::uint32_t f = 0; f < 3; ++f)
    for (std::uint16_t i = 0; i < 16; ++i) expect_found(0, f * 1000, i);
  for (std::uint32_t f = 3; f-- > 0;)
    for (std::uint16_t i = 16; i-- > 0;) expect_found(0, f * 1000, i);
  expect_found(0, 1000, 3);
  expect_found(0, 1000, 3);
  expect_found(0, 1000, 4);
  for (std::uint16_t i = 0; i < 16; ++i) {
    expect_found(i % 2, 2000, i);
    expect_found(1 - i % 2, 0, i);
  }
  EXPECT_EQ(lookup.find(0, 2000, 16), nullptr);
  expect_found(0, 0, 0);
}

TEST(ProvenBlocksTest, AnAbsentFrameIndexOrPackIsNotFound) {
  ProvenBlocks all(3);
  all.add(0, pack_blocks(0, 2));
  all.add(1, {});
  ProvenBlocks::Lookup lookup(all);
  EXPECT_NE(lookup.find(0, 1000, 15), nullptr);
  EXPECT_EQ(lookup.find(0, 1000, 16), nullptr);
  EXPECT_EQ(lookup.find(0, 500, 0), nullptr);
  EXPECT_EQ(lookup.find(0, 2000, 0), nullptr);
  EXPECT_EQ(lookup.find(1, 0, 0), nullptr);
  EXPECT_EQ(lookup.find(2, 0, 0), nullptr);
}

}  // namespace
}  // namespace pgdr::verify
