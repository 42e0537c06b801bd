#include "backup/work_items.h"

#include <gtest/gtest.h>

namespace pgdr::backup {
namespace {

constexpr std::uint32_t kBlock = 8192;
constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::uint64_t kGiB = 1u << 30;

TEST(PieceBytes, IsAnEighthOfAWorkersShareWithinItsBounds) {
  EXPECT_EQ(piece_bytes(0, 2), 32 * kMiB);
  EXPECT_EQ(piece_bytes(667 * kMiB, 2), 41 * kMiB);  // 667 / 16, whole MiB
  EXPECT_EQ(piece_bytes(3200 * kMiB, 2), 200 * kMiB);
  EXPECT_EQ(piece_bytes(3200 * kMiB, 4), 100 * kMiB);
  EXPECT_EQ(piece_bytes(31 * kGiB, 2), kGiB);
  EXPECT_EQ(piece_bytes(kGiB, 0), 128 * kMiB);  // treated as one worker
}

// Every block of a file is in exactly one of its items, in order; the last reads to the end.
void expect_covers(const std::vector<WorkItem>& items, std::size_t file, std::uint64_t blocks) {
  std::uint64_t next = 0;
  std::uint64_t seen = 0, pieces = 0;
  for (const auto& it : items) {
    if (it.file != file) continue;
    pieces = it.pieces;
    ++seen;
    EXPECT_EQ(it.first_block, next) << "file " << file;
    if (seen < it.pieces) {
      EXPECT_GT(it.blocks, 0u);
      next += it.blocks;
    } else {
      EXPECT_EQ(it.blocks, 0u) << "the last piece reads to the end";
      EXPECT_LT(it.first_block, blocks);
    }
  }
  EXPECT_EQ(seen, pieces) << "file " << file;
}

TEST(ShareOut, CutsABigTableIntoPiecesLargestFirst) {
  // A database that is mostly one table: 456 MB of 667.
  std::vector<FileToShare> files = {
      {90 * kMiB, true}, {456 * kMiB, true}, {8192, true}, {121 * kMiB, true}, {200, false}};
  auto items = share_out(files, 2, kBlock);
  // 41 MiB pieces: the big table in 12 (11 of 41 MiB and the rest), the 121 MiB one in 3, the
  // 90 MiB one in 3; the small and the unsplittable ones whole.
  ASSERT_EQ(items.size(), 12u + 3 + 3 + 1 + 1);
  EXPECT_EQ(items.front().file, 1u);
  EXPECT_EQ(items.front().pieces, 12u);
  EXPECT_EQ(items.front().blocks, 41 * kMiB / kBlock);
  expect_covers(items, 1, 456 * kMiB / kBlock);
  expect_covers(items, 3, 121 * kMiB / kBlock);
  expect_covers(items, 0, 90 * kMiB / kBlock);
  // The pieces of one file are consecutive, and files come largest first.
  std::vector<std::size_t> order;
  for (const auto& it : items)
    if (order.empty() || order.back() != it.file) order.push_back(it.file);
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 3, 0, 2, 4}));
}

TEST(ShareOut, LeavesFilesWholeWhenNotSplittableOrSmall) {
  std::vector<FileToShare> files = {{500 * kMiB, false}, {32 * kMiB, true}, {100, true}};
  auto items = share_out(files, 2, kBlock);
  ASSERT_EQ(items.size(), 3u);
  for (const auto& it : items) {
    EXPECT_EQ(it.pieces, 1u);
    EXPECT_EQ(it.first_block, 0u);
    EXPECT_EQ(it.blocks, 0u);
  }
}

TEST(ShareOut, LeavesSegmentsOfALargeClusterWhole) {
  // pgbench scale 2000: thirty 1 GiB segments balance on their own; cutting them only costs reads.
  std::vector<FileToShare> files(30, FileToShare{kGiB, true});
  files.push_back({600 * kMiB, true});
  auto items = share_out(files, 2, kBlock);
  EXPECT_EQ(items.size(), files.size());
  for (const auto& it : items) EXPECT_EQ(it.pieces, 1u);
}

TEST(ShareOut, AFileNotAWholeNumberOfBlocksEndsInItsLastPiece) {
  std::vector<FileToShare> files = {{100 * kMiB + 100, true}};
  auto items = share_out(files, 2, kBlock);
  ASSERT_EQ(items.size(), 4u);  // 32 MiB pieces: 32 + 32 + 32 + the rest
  expect_covers(items, 0, (100 * kMiB + 100 + kBlock - 1) / kBlock);
  EXPECT_EQ(items.back().first_block, 96 * kMiB / kBlock);
}

}  // namespace
}  // namespace pgdr::backup
