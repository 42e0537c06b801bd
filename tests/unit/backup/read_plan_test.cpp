#include "backup/read_plan.h"

#include <gtest/gtest.h>

#include "pg/page.h"

namespace pgdr::backup {
namespace {

constexpr std::uint32_t kBlock = 8192;

pg::RelationFork main_fork(std::uint32_t spc, std::uint32_t db, std::uint32_t rel) {
  return {{spc, db, rel}, pg::ForkNumber::main};
}

TEST(RelationFile, NamesTheForkOfEveryRelationPath) {
  auto f = relation_file_of("base/5/16384");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->fork, main_fork(1663, 5, 16384));
  EXPECT_EQ(f->segment, 0u);

  f = relation_file_of("base/16390/16384_vm.2");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->fork.rel, (pg::RelFileLocator{1663, 16390, 16384}));
  EXPECT_EQ(f->fork.fork, pg::ForkNumber::visibility_map);
  EXPECT_EQ(f->segment, 2u);

  f = relation_file_of("global/1262_fsm");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->fork.rel, (pg::RelFileLocator{1664, 0, 1262}));
  EXPECT_EQ(f->fork.fork, pg::ForkNumber::fsm);

  f = relation_file_of("pg_tblspc/16400/PG_15_202209061/5/16401.1");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->fork, main_fork(16400, 5, 16401));
  EXPECT_EQ(f->segment, 1u);

  f = relation_file_of("base/5/16384_init");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->fork.fork, pg::ForkNumber::init);
}

TEST(RelationFile, RefusesWhatIsNoRelationFile) {
  for (const char* p : {"base/5/pg_filenode.map", "base/5/PG_VERSION", "global/pg_control", "base/5/16384_xyz",
                        "base/5/16384.", "base/5/.1", "base/x/16384", "pg_xact/0000", "base/5/sub/16384",
                        "pg_tblspc/16400/other/5/16401", "base/0/16384", "base/5/99999999999"})
    EXPECT_FALSE(relation_file_of(p)) << p;
}

TEST(ReadPlan, ReadsOnlyChangedBlocksAndWhatWasAppended) {
  pg::ChangeMap map;
  map.add_block(main_fork(1663, 5, 16384), 3);
  map.add_block(main_fork(1663, 5, 16384), 7);
  map.add_block(main_fork(1663, 5, 99), 1);  // another relation: not this file's business
  map.add_block(main_fork(1663, 5, 16384), 40);
  ReadPlan p = plan_read(map, "base/5/16384", 100 * kBlock, 98 * kBlock, kBlock);
  ASSERT_FALSE(p.whole);
  EXPECT_EQ(p.file_blocks, 100u);
  // 3 and 7 are close enough to read 4-6 with them; 40 stands alone; 98 and 99 were appended.
  EXPECT_EQ(p.blocks, (std::vector<std::uint64_t>{3, 4, 5, 6, 7, 40, 98, 99}));
}

TEST(ReadPlan, AFileMostlyToReadIsReadWhole) {
  pg::ChangeMap map;
  for (std::uint32_t b = 0; b < 10; b += 2) map.add_block(main_fork(1663, 5, 16384), b);
  EXPECT_FALSE(plan_read(map, "base/5/16384", 100 * kBlock, 100 * kBlock, kBlock).whole);
  for (std::uint32_t b = 10; b < 60; ++b) map.add_block(main_fork(1663, 5, 16384), b);
  EXPECT_TRUE(plan_read(map, "base/5/16384", 100 * kBlock, 100 * kBlock, kBlock).whole);
}

TEST(ReadPlan, NothingChangedReadsNothing) {
  pg::ChangeMap map;
  ReadPlan p = plan_read(map, "base/5/16384", 10 * kBlock, 10 * kBlock, kBlock);
  ASSERT_FALSE(p.whole);
  EXPECT_TRUE(p.blocks.empty());
  EXPECT_EQ(p.file_blocks, 10u);
}

TEST(ReadPlan, BlocksOfALaterSegmentAreCountedFromItsStart) {
  pg::ChangeMap map;
  map.add_block(main_fork(1663, 5, 16384), 5);                           // segment 0
  map.add_block(main_fork(1663, 5, 16384), pg::kBlocksPerSegment + 2);  // segment 1, block 2
  ReadPlan p = plan_read(map, "base/5/16384.1", 40 * kBlock, 40 * kBlock, kBlock);
  ASSERT_FALSE(p.whole);
  EXPECT_EQ(p.blocks, (std::vector<std::uint64_t>{2}));
}

TEST(ReadPlan, LargerRepositoryBlocksCoverEveryPageInThem) {
  pg::ChangeMap map;
  map.add_block(main_fork(1663, 5, 16384), 5);  // pages 4-7 are repository block 1 at 32 KiB
  map.add_block(main_fork(1663, 5, 16384), 6);
  ReadPlan p = plan_read(map, "base/5/16384", 64 * kBlock, 64 * kBlock, 4 * kBlock);
  ASSERT_FALSE(p.whole);
  EXPECT_EQ(p.blocks, (std::vector<std::uint64_t>{1}));
}

TEST(ReadPlan, EveryCaseTheMapCannotVouchForIsReadWhole) {
  pg::ChangeMap map;
  map.add_limit(main_fork(1663, 5, 200), 0);            // created or dropped
  map.add_limit(main_fork(1663, 5, 201), 3);            // truncated to 3 blocks
  map.add_database({1663, 7});                          // CREATE DATABASE ... FILE_COPY
  const std::uint64_t ten = 10 * kBlock;
  EXPECT_TRUE(plan_read(map, "base/5/16384", ten, std::nullopt, kBlock).whole) << "new since the previous snapshot";
  EXPECT_TRUE(plan_read(map, "base/5/16384", ten, ten + kBlock, kBlock).whole) << "shorter than before";
  EXPECT_TRUE(plan_read(map, "base/5/16384", ten + 100, ten, kBlock).whole) << "not whole blocks";
  EXPECT_TRUE(plan_read(map, "base/5/16384_fsm", ten, ten, kBlock).whole) << "free space map";
  EXPECT_TRUE(plan_read(map, "base/5/16384_vm", ten, ten, kBlock).whole) << "visibility map";
  EXPECT_TRUE(plan_read(map, "base/5/16384_init", ten, ten, kBlock).whole) << "init fork";
  EXPECT_TRUE(plan_read(map, "base/5/pg_filenode.map", 512, 512, kBlock).whole) << "not a relation";
  EXPECT_TRUE(plan_read(map, "base/5/200", ten, ten, kBlock).whole) << "limit 0";
  EXPECT_TRUE(plan_read(map, "base/5/201", ten, ten, kBlock).whole) << "limit inside the file";
  EXPECT_TRUE(plan_read(map, "base/7/16384", ten, ten, kBlock).whole) << "database-level event";
  EXPECT_FALSE(plan_read(map, "base/6/16384", ten, ten, kBlock).whole) << "another database is untouched";
}

TEST(ReadPlan, ALimitPastTheSegmentLeavesItToTheMap) {
  pg::ChangeMap map;
  map.add_limit(main_fork(1663, 5, 300), pg::kBlocksPerSegment + 10);  // truncated in segment 1
  const std::uint64_t full_segment = std::uint64_t{pg::kBlocksPerSegment} * kBlock;
  EXPECT_FALSE(plan_read(map, "base/5/300", full_segment, full_segment, kBlock).whole);
  EXPECT_TRUE(plan_read(map, "base/5/300.1", 20 * kBlock, 20 * kBlock, kBlock).whole);
}

}  // namespace
}  // namespace pgdr::backup
