#include "pg/change_map.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"

namespace pgdr::pg {
namespace {

const RelationFork kAccounts{{kDefaultTablespaceOid, 5, 16396}, ForkNumber::main};
const RelationFork kAccountsVm{{kDefaultTablespaceOid, 5, 16396}, ForkNumber::visibility_map};
const RelationFork kBranches{{kDefaultTablespaceOid, 5, 16390}, ForkNumber::main};

// The bound of change_map.h: 8 KiB and some bookkeeping per 512 MiB chunk touched, some
// bookkeeping per fork.
constexpr std::size_t kChunkBoundBytes = 8192 + 128;
constexpr std::size_t kForkBoundBytes = 160;
constexpr std::size_t kMapBoundBytes = 128;

std::vector<std::uint32_t> blocks(const ChangeMap& m, const RelationFork& f, std::uint32_t first = 0,
                                  std::uint32_t end = 0xFFFFFFFFu) {
  std::vector<std::uint32_t> out;
  m.blocks_in(f, first, end, out);
  return out;
}

TEST(ChangeMap, EmptyMapHasNothing) {
  ChangeMap m;
  EXPECT_EQ(m.block_count(), 0u);
  EXPECT_EQ(m.fork_count(), 0u);
  EXPECT_EQ(m.database_count(), 0u);
  EXPECT_FALSE(m.limit(kAccounts));
  EXPECT_FALSE(m.database_changed({kDefaultTablespaceOid, 5}));
  EXPECT_TRUE(blocks(m, kAccounts).empty());
}

TEST(ChangeMap, BlocksOnBothSidesOfAChunkBoundary) {
  ChangeMap m;
  for (std::uint32_t b : {65536u, 65535u, 0u, 131072u, 65535u, 0xFFFFFFFEu, 0xFFFFFFFFu}) m.add_block(kAccounts, b);
  EXPECT_EQ(m.block_count(), 6u);
  EXPECT_EQ(blocks(m, kAccounts, 0, 0xFFFFFFFFu),
            (std::vector<std::uint32_t>{0, 65535, 65536, 131072, 0xFFFFFFFEu}));
  EXPECT_EQ(blocks(m, kAccounts, 65535, 65537), (std::vector<std::uint32_t>{65535, 65536}));
  EXPECT_EQ(blocks(m, kAccounts, 65536, 65536), (std::vector<std::uint32_t>{}));
  EXPECT_EQ(blocks(m, kAccounts, 1, 65535), (std::vector<std::uint32_t>{}));
  EXPECT_EQ(blocks(m, kAccounts, 0xFFFFFFFEu, 0xFFFFFFFFu), (std::vector<std::uint32_t>{0xFFFFFFFEu}));
  // Other forks of the same relation, and other relations, are untouched.
  EXPECT_TRUE(blocks(m, kAccountsVm).empty());
  EXPECT_TRUE(blocks(m, kBranches).empty());
  EXPECT_EQ(m.fork_count(), 1u);
}

TEST(ChangeMap, ArrayTurnsIntoBitmapAt4096BlocksAndKeepsEveryBlock) {
  ChangeMap m;
  std::vector<std::uint32_t> want;
  // Every 16th block of chunk 2, added from the top down: 4096 blocks in all.
  for (std::uint32_t i = 4096; i-- > 0;) m.add_block(kAccounts, 2 * 65536 + i * 16);
  for (std::uint32_t i = 0; i < 4096; ++i) want.push_back(2 * 65536 + i * 16);
  const std::size_t before_last = [&] {
    ChangeMap a;
    for (std::uint32_t i = 0; i < 4095; ++i) a.add_block(kAccounts, 2 * 65536 + i * 16);
    return a.memory_bytes();
  }();
  EXPECT_EQ(m.block_count(), 4096u);
  EXPECT_EQ(blocks(m, kAccounts), want);
  // 4095 offsets in an array and the bitmap cost about the same: the switch does not grow the map.
  EXPECT_LE(m.memory_bytes(), before_last + 64);
  EXPECT_LE(m.memory_bytes(), kMapBoundBytes + kForkBoundBytes + kChunkBoundBytes);
  // Adding again what is there changes nothing, in either form.
  m.add_block(kAccounts, 2 * 65536 + 16);
  EXPECT_EQ(m.block_count(), 4096u);
  // A range inside the bitmap chunk.
  EXPECT_EQ(blocks(m, kAccounts, 2 * 65536 + 17, 2 * 65536 + 64), (std::vector<std::uint32_t>{
                                                                       2 * 65536 + 32, 2 * 65536 + 48}));
}

TEST(ChangeMap, LimitKeepsTheSmallest) {
  ChangeMap m;
  m.add_limit(kAccounts, 900);
  EXPECT_EQ(m.limit(kAccounts), 900u);
  m.add_limit(kAccounts, 1200);
  EXPECT_EQ(m.limit(kAccounts), 900u);
  m.add_limit(kAccounts, 40);
  EXPECT_EQ(m.limit(kAccounts), 40u);
  m.add_limit(kAccounts, 0);
  EXPECT_EQ(m.limit(kAccounts), 0u);
  EXPECT_FALSE(m.limit(kAccountsVm));
  // A block seen before a limit keeps its fork's limit unset, and the reverse.
  m.add_block(kBranches, 3);
  EXPECT_FALSE(m.limit(kBranches));
  EXPECT_EQ(m.fork_count(), 2u);
  EXPECT_EQ(m.block_count(), 1u);
}

TEST(ChangeMap, MergeGivesEveryChangeOfEither) {
  ChangeMap a, b;
  a.add_block(kAccounts, 7);
  a.add_block(kAccounts, 70000);
  a.add_limit(kAccounts, 500);
  a.add_database({kDefaultTablespaceOid, 16400});
  for (std::uint32_t i = 0; i < 5000; ++i) b.add_block(kAccounts, i * 2);  // a bitmap chunk 0
  b.add_limit(kAccounts, 300);
  b.add_limit(kAccountsVm, 0);
  b.add_block(kBranches, 1);
  b.add_database({kDefaultTablespaceOid, 16500});
  b.add_database({kDefaultTablespaceOid, 16400});

  ChangeMap ab, ba;
  ab.merge(a);
  ab.merge(b);
  ba.merge(b);
  ba.merge(a);
  EXPECT_TRUE(ab == ba);
  EXPECT_EQ(ab.limit(kAccounts), 300u);
  EXPECT_EQ(ab.limit(kAccountsVm), 0u);
  EXPECT_FALSE(ab.limit(kBranches));
  EXPECT_EQ(ab.database_count(), 2u);
  EXPECT_EQ(ab.fork_count(), 3u);
  // 5000 even blocks, 7 and 70000 of accounts, 1 of branches.
  EXPECT_EQ(ab.block_count(), 5003u);
  const auto got = blocks(ab, kAccounts, 0, 20);
  EXPECT_EQ(got, (std::vector<std::uint32_t>{0, 2, 4, 6, 7, 8, 10, 12, 14, 16, 18}));
  // Merging a map into itself, or again, adds nothing.
  ab.merge(ab);
  ab.merge(a);
  EXPECT_TRUE(ab == ba);
}

TEST(ChangeMap, MergeOfTwoArraysPastTheThresholdBecomesABitmap) {
  ChangeMap a, b, all;
  for (std::uint32_t i = 0; i < 3000; ++i) {
    a.add_block(kAccounts, i * 2);
    b.add_block(kAccounts, i * 2 + 1);
    all.add_block(kAccounts, i * 2);
    all.add_block(kAccounts, i * 2 + 1);
  }
  a.merge(b);
  EXPECT_EQ(a.block_count(), 6000u);
  EXPECT_TRUE(a == all);
  EXPECT_EQ(a.encode(), all.encode());
}

TEST(ChangeMap, BlocksInRangesAcrossChunks) {
  ChangeMap m;
  std::vector<std::uint32_t> all;
  // Sparse in chunk 0 (array), dense in chunk 1 (bitmap), nothing in chunk 2, sparse in chunk 3.
  for (std::uint32_t b = 0; b < 65536; b += 1000) all.push_back(b);
  for (std::uint32_t b = 65536; b < 2 * 65536; b += 3) all.push_back(b);
  for (std::uint32_t b = 3 * 65536; b < 4 * 65536; b += 4099) all.push_back(b);
  for (std::uint32_t b : all) m.add_block(kAccounts, b);
  for (auto [first, end] : std::vector<std::pair<std::uint32_t, std::uint32_t>>{
           {0, 4 * 65536}, {999, 1001}, {60000, 70000}, {65536, 65537}, {100000, 3 * 65536 + 5000},
           {2 * 65536, 3 * 65536}, {131071, 131072}, {5, 5}, {9, 3}}) {
    SCOPED_TRACE(std::to_string(first) + ".." + std::to_string(end));
    std::vector<std::uint32_t> want;
    for (std::uint32_t b : all)
      if (b >= first && b < end) want.push_back(b);
    EXPECT_EQ(blocks(m, kAccounts, first, end), want);
  }
  // blocks_in appends.
  std::vector<std::uint32_t> out{42};
  m.blocks_in(kAccounts, 0, 1, out);
  EXPECT_EQ(out, (std::vector<std::uint32_t>{42, 0}));
}

ChangeMap sample_map() {
  ChangeMap m;
  for (std::uint32_t i = 0; i < 5000; ++i) m.add_block(kAccounts, 65536 + i * 3);
  m.add_block(kAccounts, 12);
  m.add_limit(kAccounts, 80000);
  m.add_limit(kAccountsVm, 0);
  m.add_block(kBranches, 0);
  m.add_block({{kGlobalTablespaceOid, 0, 1262}, ForkNumber::fsm}, 2);
  m.add_database({kDefaultTablespaceOid, 16384});
  m.add_database({16500, 16384});
  return m;
}

TEST(ChangeMap, RoundTrip) {
  const ChangeMap m = sample_map();
  const Bytes bytes = m.encode();
  const ChangeMap back = ChangeMap::decode(bytes, "map");
  EXPECT_TRUE(back == m);
  EXPECT_EQ(back.encode(), bytes);
  EXPECT_EQ(back.block_count(), 5003u);
  EXPECT_EQ(back.limit(kAccounts), 80000u);
  EXPECT_TRUE(back.database_changed({16500, 16384}));
  EXPECT_EQ(blocks(back, kAccounts, 0, 65536 + 7), (std::vector<std::uint32_t>{12, 65536, 65539, 65542}));
  // An empty map too.
  EXPECT_TRUE(ChangeMap::decode(ChangeMap().encode(), "empty") == ChangeMap());
  // Maps that differ in one block, one limit or one database are not equal.
  ChangeMap other = ChangeMap::decode(bytes, "map");
  other.add_block(kAccounts, 13);
  EXPECT_FALSE(other == m);
  ChangeMap other2 = ChangeMap::decode(bytes, "map");
  other2.add_limit(kAccounts, 79999);
  EXPECT_FALSE(other2 == m);
  ChangeMap other3 = ChangeMap::decode(bytes, "map");
  other3.add_database({kDefaultTablespaceOid, 1});
  EXPECT_FALSE(other3 == m);
}

TEST(ChangeMap, MovedFromMapIsEmptyAndUsable) {
  ChangeMap a = sample_map();
  ChangeMap b = std::move(a);
  EXPECT_EQ(b.block_count(), 5003u);
  EXPECT_EQ(a.block_count(), 0u);  // NOLINT(bugprone-use-after-move): the state is specified
  a.add_block(kAccounts, 1);
  EXPECT_EQ(a.block_count(), 1u);
}

// Decoding must fail with Error(corrupt) and a message that starts with what was named.
void expect_corrupt(ByteView bytes, const std::string& why_part) {
  try {
    ChangeMap::decode(bytes, "change map of 000000010000000000000015");
    ADD_FAILURE() << "decoded damaged bytes; expected: " << why_part;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("change map of 000000010000000000000015: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(why_part), std::string::npos) << msg;
  }
}

// The body with a freshly computed CRC, so that damage reaches the structural checks.
Bytes with_crc(Bytes body) {
  put_u32le(body, crc32c(body));
  return body;
}
Bytes body_of(const Bytes& bytes) { return Bytes(bytes.begin(), bytes.end() - 4); }

TEST(ChangeMap, EveryFlippedByteIsRefused) {
  const Bytes good = sample_map().encode();
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    SCOPED_TRACE(i);
    EXPECT_THROW(ChangeMap::decode(bad, "map"), Error);
  }
  Bytes bad = good;
  bad[30] ^= 0x40;
  expect_corrupt(bad, "checksum mismatch");
}

TEST(ChangeMap, TruncatedOrExtendedIsRefused) {
  const Bytes good = sample_map().encode();
  for (std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{23}, good.size() / 2, good.size() - 1}) {
    SCOPED_TRACE(n);
    EXPECT_THROW(ChangeMap::decode(ByteView(good).first(n), "map"), Error);
  }
  expect_corrupt(ByteView(good).first(10), "shorter than the smallest change map");
  expect_corrupt(ByteView(good).first(good.size() - 1), "checksum mismatch");
  // Cut short inside the accounts fork's bitmap, with a valid CRC over what is left.
  expect_corrupt(with_crc(Bytes(good.begin(), good.begin() + 182)), "truncated in chunk bitmap");
  // Bytes appended after the checksum, and bytes inside it with a valid CRC.
  Bytes longer = good;
  longer.push_back(0);
  expect_corrupt(longer, "checksum mismatch");
  Bytes body = body_of(good);
  body.push_back(0);
  body.push_back(0);
  expect_corrupt(with_crc(body), "2 trailing bytes");
}

TEST(ChangeMap, WrongMagicOrVersionIsRefused) {
  Bytes bad = sample_map().encode();
  bad[0] = 'X';
  expect_corrupt(bad, "wrong magic");
  Bytes body = body_of(sample_map().encode());
  body[8] = 2;
  expect_corrupt(with_crc(body), "change map version 2, where this pgdr reads version 1");
}

TEST(ChangeMap, InconsistentFieldsAreRefusedBehindAValidChecksum) {
  // One fork, one chunk of three offsets.
  ChangeMap m;
  for (std::uint32_t b : {5u, 9u, 11u}) m.add_block(kAccounts, b);
  const Bytes body = body_of(m.encode());
  // Offsets of the layout: header 12, fork count 4, fork fields 12 + 1 + 1 + 4, chunk count 4,
  // chunk index 2, count 4, offsets 6, database count 4.
  constexpr std::size_t kForkNumber = 16 + 12, kHasLimit = kForkNumber + 1, kLimit = kHasLimit + 1;
  constexpr std::size_t kChunkCount = kLimit + 4, kChunkIndex = kChunkCount + 4, kCount = kChunkIndex + 2;
  constexpr std::size_t kOffsets = kCount + 4;
  auto damaged = [&](std::size_t at, std::uint8_t value) {
    Bytes b = body;
    b[at] = value;
    return with_crc(b);
  };
  expect_corrupt(damaged(kForkNumber, 4), "invalid fork number 4");
  expect_corrupt(damaged(kHasLimit, 2), "invalid limit flag 2");
  expect_corrupt(damaged(kLimit, 1), "limit block without its flag");
  expect_corrupt(damaged(kChunkCount, 0), "neither limit nor blocks");
  expect_corrupt(damaged(kChunkCount, 200), "chunk count 200");
  expect_corrupt(damaged(kCount, 0), "invalid block count 0");
  expect_corrupt(damaged(kCount, 6), "truncated in chunk offsets");
  expect_corrupt(damaged(kOffsets + 2, 5), "offsets out of order or repeated");
  expect_corrupt(damaged(kOffsets + 4, 9), "offsets out of order or repeated");
  expect_corrupt(damaged(12, 2), "fork count 2 exceeds");
  expect_corrupt(damaged(kOffsets + 6, 1), "database count 1 exceeds");

  // Two forks out of order, two chunks out of order, two databases repeated.
  ChangeMap two;
  two.add_block(kBranches, 1);
  two.add_block(kAccounts, 1);
  Bytes b2 = body_of(two.encode());
  const std::size_t fork_bytes = 12 + 1 + 1 + 4 + 4 + 2 + 4 + 2;
  std::rotate(b2.begin() + 16, b2.begin() + 16 + fork_bytes, b2.begin() + 16 + 2 * fork_bytes);
  expect_corrupt(with_crc(b2), "fork entry 1 is out of order or repeated");

  ChangeMap chunks;
  chunks.add_block(kAccounts, 1);
  chunks.add_block(kAccounts, 65536 + 1);
  Bytes b3 = body_of(chunks.encode());
  b3[kChunkIndex + 8] = 0;  // the second chunk's index, 1 -> 0
  expect_corrupt(with_crc(b3), "chunk 0 of fork entry 0 is out of order or repeated");

  ChangeMap dbs;
  dbs.add_database({kDefaultTablespaceOid, 7});
  dbs.add_database({kDefaultTablespaceOid, 8});
  Bytes b4 = body_of(dbs.encode());
  b4[b4.size() - 4] = 7;
  expect_corrupt(with_crc(b4), "database entry 1 is out of order or repeated");
}

TEST(ChangeMap, BitmapWhoseCountDisagreesIsRefused) {
  ChangeMap m;
  for (std::uint32_t i = 0; i < 5000; ++i) m.add_block(kAccounts, i);
  Bytes body = body_of(m.encode());
  constexpr std::size_t kBitmap = 16 + 22 + 2 + 4;
  body[kBitmap + 8000] = 0x01;  // one more block than counted
  expect_corrupt(with_crc(body), "5001 bits set where its count says 5000");
}

TEST(ChangeMap, MemoryStaysWithinTheBoundForTenMillionRandomBlocks) {
  // Four relations of 16 GiB (32 chunks each), 10^7 random blocks: every chunk ends a bitmap.
  constexpr std::uint32_t kBlocks = 1u << 21;
  const RelationFork rels[] = {kAccounts, kAccountsVm, kBranches, {{16500, 5, 20000}, ForkNumber::main}};
  std::vector<std::vector<bool>> seen(4, std::vector<bool>(kBlocks));
  std::mt19937_64 rng(20261206);
  ChangeMap m;
  std::uint64_t distinct = 0;
  for (int i = 0; i < 10'000'000; ++i) {
    const std::uint64_t r = rng();
    const std::size_t rel = r & 3;
    const std::uint32_t block = static_cast<std::uint32_t>((r >> 2) % kBlocks);
    m.add_block(rels[rel], block);
    if (!seen[rel][block]) {
      seen[rel][block] = true;
      ++distinct;
    }
  }
  EXPECT_EQ(m.block_count(), distinct);
  const std::size_t chunks = 4 * (kBlocks / 65536);
  EXPECT_LE(m.memory_bytes(), kMapBoundBytes + 4 * kForkBoundBytes + chunks * kChunkBoundBytes);
  EXPECT_GE(m.memory_bytes(), chunks * 8192);  // it does count the bitmaps

  // Sparse: one block in each of 30000 chunks of one relation, and 2000 forks of one block.
  ChangeMap sparse;
  for (std::uint32_t c = 0; c < 30000; ++c) sparse.add_block(kAccounts, c * 65536 + c % 65536);
  for (std::uint32_t r = 0; r < 2000; ++r) sparse.add_block({{kDefaultTablespaceOid, 5, 30000 + r}, ForkNumber::main}, r);
  EXPECT_LE(sparse.memory_bytes(), kMapBoundBytes + 2001 * kForkBoundBytes + 32000 * kChunkBoundBytes);
  // An array chunk below the threshold never holds more than the bitmap would.
  ChangeMap dense_array;
  for (std::uint32_t i = 0; i < 4095; ++i) dense_array.add_block(kAccounts, i * 7);
  EXPECT_LE(dense_array.memory_bytes(), kMapBoundBytes + kForkBoundBytes + kChunkBoundBytes);
}

}  // namespace
}  // namespace pgdr::pg
