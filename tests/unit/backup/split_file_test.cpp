#include "backup/split_file.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>

#include "core/error.h"

namespace pgdr::backup {
namespace {

constexpr std::uint64_t kBlock = 8192;

// Blocks [first, first + count) of repository `repo`, each reference telling both apart.
std::vector<repo::BlockRef> refs_of(std::uint32_t repo, std::uint64_t first, std::uint64_t count) {
  std::vector<repo::BlockRef> out;
  for (std::uint64_t b = first; b < first + count; ++b) {
    repo::BlockRef r;
    r.pack = repo;
    r.offset = static_cast<std::uint32_t>(b);
    out.push_back(r);
  }
  return out;
}

SplitFile::Piece piece(std::uint64_t first_block, std::uint64_t blocks, std::uint64_t read_blocks, bool last) {
  SplitFile::Piece p;
  p.first_block = first_block;
  p.last = last;
  p.bytes_wanted = last ? std::numeric_limits<std::uint64_t>::max() : blocks * kBlock;
  p.bytes_read = read_blocks * kBlock;
  return p;
}

void expect_in_file_order(const std::vector<repo::BlockRef>& refs, std::uint32_t repo, std::uint64_t blocks) {
  ASSERT_EQ(refs.size(), blocks);
  for (std::uint64_t b = 0; b < blocks; ++b) {
    EXPECT_EQ(refs[b].pack, repo) << "block " << b;
    EXPECT_EQ(refs[b].offset, b) << "block " << b;
  }
}

TEST(SplitFile, PiecesHandedInOutOfOrderAreJoinedInFileOrder) {
  // Three pieces of 100 blocks and a last one that found 40 more than planned (the file grew).
  SplitFile sf(4, 2, 400);
  const std::uint64_t order[] = {300, 0, 200, 100};
  for (std::size_t i = 0; i < 4; ++i) {
    const std::uint64_t first = order[i];
    const bool last = first == 300;
    const std::uint64_t got = last ? 140 : 100;
    bool done = sf.add(piece(first, 100, got, last), {refs_of(0, first, got), refs_of(1, first, got)});
    EXPECT_EQ(done, i == 3) << "piece at block " << first;
  }
  EXPECT_EQ(sf.outcome(), SplitFile::Outcome::record);
  EXPECT_EQ(sf.size_bytes(), 440 * kBlock);
  auto refs = sf.take_refs();
  ASSERT_EQ(refs.size(), 2u);
  expect_in_file_order(refs[0], 0, 440);
  expect_in_file_order(refs[1], 1, 440);
}

TEST(SplitFile, ALastPieceThatFindsTheFileShorterIsRecordedAtTheShorterSize) {
  SplitFile sf(3, 1);
  EXPECT_FALSE(sf.add(piece(0, 100, 100, false), {refs_of(0, 0, 100)}));
  EXPECT_FALSE(sf.add(piece(100, 100, 100, false), {refs_of(0, 100, 100)}));
  // Truncated at the boundary: the last piece reads nothing.
  EXPECT_TRUE(sf.add(piece(200, 0, 0, true), {refs_of(0, 200, 0)}));
  EXPECT_EQ(sf.outcome(), SplitFile::Outcome::record);
  EXPECT_EQ(sf.size_bytes(), 200 * kBlock);
  expect_in_file_order(sf.take_refs()[0], 0, 200);
}

TEST(SplitFile, APieceBeforeTheLastReadingShortMeansReadTheFileAgain) {
  // The file shrank into the second piece while the first and last were read in full: the
  // references would leave a hole of unread blocks, so they must not be recorded.
  SplitFile sf(3, 1);
  EXPECT_FALSE(sf.add(piece(0, 100, 100, false), {refs_of(0, 0, 100)}));
  EXPECT_FALSE(sf.add(piece(200, 0, 50, true), {refs_of(0, 200, 50)}));
  EXPECT_TRUE(sf.add(piece(100, 100, 60, false), {refs_of(0, 100, 60)}));
  EXPECT_EQ(sf.outcome(), SplitFile::Outcome::read_again);
}

TEST(SplitFile, APieceBeforeTheLastReadingNothingMeansReadTheFileAgain) {
  SplitFile sf(2, 1);
  EXPECT_FALSE(sf.add(piece(0, 100, 0, false), {refs_of(0, 0, 0)}));
  EXPECT_TRUE(sf.add(piece(100, 0, 0, true), {refs_of(0, 0, 0)}));
  EXPECT_EQ(sf.outcome(), SplitFile::Outcome::read_again);
}

TEST(SplitFile, AFileRemovedWhilePiecesWereReadIsLeftOut) {
  SplitFile sf(2, 1);
  EXPECT_FALSE(sf.add(piece(0, 100, 100, false), {refs_of(0, 0, 100)}));
  SplitFile::Piece gone = piece(100, 0, 0, true);
  gone.gone = true;
  EXPECT_TRUE(sf.add(gone, {refs_of(0, 0, 0)}));
  EXPECT_EQ(sf.outcome(), SplitFile::Outcome::leave_out);
}

TEST(SplitFile, RemovedWinsOverShrunk) {
  SplitFile sf(2, 1);
  SplitFile::Piece gone = piece(0, 100, 0, false);
  gone.gone = true;
  EXPECT_FALSE(sf.add(gone, {refs_of(0, 0, 0)}));
  EXPECT_TRUE(sf.add(piece(100, 0, 0, true), {refs_of(0, 0, 0)}));
  EXPECT_EQ(sf.outcome(), SplitFile::Outcome::leave_out);
}

TEST(SplitFile, RefusesAPieceTooManyOrForTheWrongRepositories) {
  SplitFile sf(1, 2);
  EXPECT_THROW(sf.add(piece(0, 0, 1, true), {refs_of(0, 0, 1)}), Error);
  EXPECT_TRUE(sf.add(piece(0, 0, 1, true), {refs_of(0, 0, 1), refs_of(1, 0, 1)}));
  EXPECT_THROW(sf.add(piece(0, 0, 1, true), {refs_of(0, 0, 1), refs_of(1, 0, 1)}), Error);
}

TEST(SplitFile, ExactlyOneOfManyThreadsHandsInTheLastPiece) {
  constexpr std::uint64_t kPieces = 64;
  SplitFile sf(kPieces, 1, kPieces * 10);
  std::atomic<int> finishers{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::uint64_t p = static_cast<std::uint64_t>(t); p < kPieces; p += 4) {
        const bool last = p == kPieces - 1;
        if (sf.add(piece(p * 10, 10, 10, last), {refs_of(0, p * 10, 10)})) ++finishers;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(finishers.load(), 1);
  EXPECT_EQ(sf.outcome(), SplitFile::Outcome::record);
  expect_in_file_order(sf.take_refs()[0], 0, kPieces * 10);
}

}  // namespace
}  // namespace pgdr::backup
