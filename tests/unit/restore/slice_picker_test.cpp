#include "restore/slice_picker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace pgdr::restore {
namespace {

using Slice = SlicePicker::Slice;

// Blocks handed out per file, slice after slice, in the order handed out.
using Coverage = std::map<std::size_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>>;

void expect_covers(const Coverage& got, const std::vector<std::uint64_t>& blocks, std::uint64_t slice_blocks) {
  ASSERT_EQ(got.size(), blocks.size());
  for (std::size_t f = 0; f < blocks.size(); ++f) {
    const auto& slices = got.at(f);
    std::uint64_t at = 0;
    for (const auto& [first, n] : slices) {
      EXPECT_EQ(first, at) << "file " << f << ": slices in block order, none twice";
      EXPECT_LE(n, slice_blocks);
      at += n;
    }
    EXPECT_EQ(at, blocks[f]) << "file " << f;
    if (blocks[f] == 0) {
      EXPECT_EQ(slices.size(), 1u) << "an empty file is one slice";
    }
  }
}

TEST(SlicePicker, EverySliceOnceInBlockOrderEmptyFilesIncluded) {
  const std::vector<std::uint64_t> blocks = {25, 0, 8, 7, 1};
  SlicePicker picker(blocks, 8);
  EXPECT_EQ(picker.slice_count(), 4u + 1 + 1 + 1 + 1);
  Coverage got;
  std::optional<Slice> s;
  std::size_t n = 0;
  while ((s = picker.next(s))) {
    got[s->file].emplace_back(s->first_block, s->blocks);
    ++n;
  }
  EXPECT_EQ(n, picker.slice_count());
  expect_covers(got, blocks, 8);
}

// Two workers and two big files: each writes its own file, never the other's, until its own runs
// out; with slices in file order (before) both wrote the first file.
TEST(SlicePicker, WorkersWriteDifferentFilesWhileThereAreSeveral) {
  SlicePicker picker({32, 32}, 8);
  auto a = picker.next(std::nullopt);
  auto b = picker.next(std::nullopt);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->file, 0u);
  EXPECT_EQ(b->file, 1u);
  for (int i = 0; i < 3; ++i) {
    a = picker.next(a);
    b = picker.next(b);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->file, 0u) << "round " << i;
    EXPECT_EQ(b->file, 1u) << "round " << i;
  }
  EXPECT_FALSE(picker.next(a));
  EXPECT_FALSE(picker.next(b));
}

// Once every file left is being written, a worker shares one rather than idle; it takes the
// largest (first) file's next slice.
TEST(SlicePicker, AWorkerSharesAFileWhenEveryFileLeftIsBeingWritten) {
  SlicePicker picker({24, 8}, 8);
  auto a = picker.next(std::nullopt);  // file 0, blocks 0-7
  auto b = picker.next(std::nullopt);  // file 1, its only slice
  ASSERT_TRUE(a && b);
  ASSERT_EQ(b->file, 1u);
  auto b2 = picker.next(b);  // file 1 done: only file 0 is left, and worker a writes it
  ASSERT_TRUE(b2);
  EXPECT_EQ(b2->file, 0u);
  EXPECT_EQ(b2->first_block, 8u);
  auto a2 = picker.next(a);
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->file, 0u);
  EXPECT_EQ(a2->first_block, 16u);
  EXPECT_FALSE(picker.next(a2));
}

// A file becomes free again when its writer hands its slice back, and is preferred to a later
// file nobody writes: the order given (largest first) is kept.
TEST(SlicePicker, TheFirstFreeFileInTheOrderGivenComesFirst) {
  SlicePicker picker({16, 16, 16}, 8);
  auto a = picker.next(std::nullopt);  // file 0
  auto b = picker.next(std::nullopt);  // file 1
  ASSERT_TRUE(a && b);
  auto b2 = picker.next(b);  // file 1 is free again and comes before file 2
  ASSERT_TRUE(b2);
  EXPECT_EQ(b2->file, 1u);
  auto a2 = picker.next(a);
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->file, 0u);
}

TEST(SlicePicker, RefusesMisuse) {
  EXPECT_THROW(SlicePicker({1}, 0), Error);
  SlicePicker picker({8}, 8);
  EXPECT_THROW(picker.next(Slice{0, 0, 8}), Error);  // never handed out
  EXPECT_THROW(picker.next(Slice{3, 0, 8}), Error);  // no such file
}

// Many workers at once: every slice exactly once, each file's in block order.
TEST(SlicePicker, FourThreadsTakeEverySliceOnce) {
  std::vector<std::uint64_t> blocks;
  for (std::uint64_t i = 0; i < 200; ++i) blocks.push_back((i * 37) % 101);
  SlicePicker picker(blocks, 8);
  std::mutex mu;
  Coverage got;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::optional<Slice> s;
      while ((s = picker.next(s))) {
        std::lock_guard lock(mu);
        got[s->file].emplace_back(s->first_block, s->blocks);
      }
    });
  }
  for (auto& t : threads) t.join();
  // Slices of one file may be recorded out of order by two threads; sort before checking.
  for (auto& [f, slices] : got) std::sort(slices.begin(), slices.end());
  expect_covers(got, blocks, 8);
}

}  // namespace
}  // namespace pgdr::restore
