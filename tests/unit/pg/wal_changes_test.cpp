#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/change_map.h"
#include "pg/wal_reader.h"
#include "wal_fixtures.h"

namespace pgdr::pg {
namespace {

constexpr RelFileLocator kRel{kDefaultTablespaceOid, 5, 16384};
constexpr RelFileLocator kOther{kDefaultTablespaceOid, 5, 16390};

// A record of one resource manager with the given main data and block references.
struct Rec {
  Bytes main;
  std::vector<BlockRef> blocks;
  WalRecord record;
  Rec(std::uint8_t rmid, std::uint8_t info, Bytes main_data, std::vector<BlockRef> refs = {})
      : main(std::move(main_data)), blocks(std::move(refs)) {
    record.lsn = Lsn{0x15000028};
    record.rmid = rmid;
    record.info = info;
    record.main_data = main;
    record.blocks = blocks;
  }
  Rec(const Rec&) = delete;  // record's views point into this object
};

void put_rel(Bytes& b, const RelFileLocator& r) {
  put_u32le(b, r.spc_oid);
  put_u32le(b, r.db_oid);
  put_u32le(b, r.rel_number);
}

BlockRef ref(const RelFileLocator& rel, ForkNumber fork, std::uint32_t block) {
  BlockRef b;
  b.rel = rel;
  b.fork = fork;
  b.block = block;
  return b;
}

std::vector<std::uint32_t> blocks_of(const ChangeMap& m, const RelFileLocator& rel, ForkNumber fork) {
  std::vector<std::uint32_t> out;
  m.blocks_in({rel, fork}, 0, 0xFFFFFFFFu, out);
  return out;
}

void expect_corrupt(const Rec& r, int major, const std::string& part) {
  ChangeMap m;
  try {
    note_wal_record(r.record, major, m);
    ADD_FAILURE() << "accepted a short record; expected: " << part;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at 0/15000028"), std::string::npos) << e.what();
  }
}

TEST(WalChanges, EveryBlockReferenceOfEveryFork) {
  Rec r(11 /* btree */, 0x00, {},
        {ref(kRel, ForkNumber::main, 7), ref(kRel, ForkNumber::fsm, 2), ref(kOther, ForkNumber::init, 0),
         ref(kRel, ForkNumber::visibility_map, 1)});
  ChangeMap m;
  note_wal_record(r.record, 16, m);
  EXPECT_EQ(blocks_of(m, kRel, ForkNumber::main), std::vector<std::uint32_t>{7});
  EXPECT_EQ(blocks_of(m, kRel, ForkNumber::fsm), std::vector<std::uint32_t>{2});
  EXPECT_EQ(blocks_of(m, kRel, ForkNumber::visibility_map), std::vector<std::uint32_t>{1});
  EXPECT_EQ(blocks_of(m, kOther, ForkNumber::init), std::vector<std::uint32_t>{0});
  EXPECT_EQ(m.block_count(), 4u);
  EXPECT_FALSE(m.limit({kRel, ForkNumber::main}));
}

TEST(WalChanges, HeapRecordsAlsoChangeTheirVisibilityMapPage) {
  // An update from block 5 to block 32672 + 9: the map pages of both blocks.
  Rec r(10 /* heap */, 0x20, {}, {ref(kRel, ForkNumber::main, 32672 + 9), ref(kRel, ForkNumber::main, 5)});
  ChangeMap m;
  note_wal_record(r.record, 17, m);
  EXPECT_EQ(blocks_of(m, kRel, ForkNumber::visibility_map), (std::vector<std::uint32_t>{0, 1}));
  // Not for other resource managers.
  Rec btree(11, 0x00, {}, {ref(kOther, ForkNumber::main, 5)});
  note_wal_record(btree.record, 17, m);
  EXPECT_TRUE(blocks_of(m, kOther, ForkNumber::visibility_map).empty());
}

TEST(WalChanges, StorageCreateSetsLimitZeroOnItsFork) {
  for (std::uint32_t fork = 0; fork <= 3; ++fork) {
    Bytes d;
    put_rel(d, kRel);
    put_u32le(d, fork);
    Rec r(2, 0x10, d);
    ChangeMap m;
    note_wal_record(r.record, 15, m);
    EXPECT_EQ(m.limit({kRel, static_cast<ForkNumber>(fork)}), 0u);
    EXPECT_EQ(m.fork_count(), 1u);
  }
  Bytes bad;
  put_rel(bad, kRel);
  put_u32le(bad, 4);
  expect_corrupt(Rec(2, 0x10, bad), 15, "invalid fork number 4");
  expect_corrupt(Rec(2, 0x10, Bytes(15)), 15, "main data of 15 bytes ends inside its fork number");
}

TEST(WalChanges, StorageTruncateLimitsTheMainForkAndClearsTheMaps) {
  auto truncate = [](std::uint32_t blkno, std::uint32_t flags) {
    Bytes d;
    put_u32le(d, blkno);
    put_rel(d, kRel);
    put_u32le(d, flags);
    return d;
  };
  ChangeMap m;
  note_wal_record(Rec(2, 0x20, truncate(9, 0x7)).record, 14, m);
  EXPECT_EQ(m.limit({kRel, ForkNumber::main}), 9u);
  EXPECT_EQ(m.limit({kRel, ForkNumber::visibility_map}), 0u);
  EXPECT_EQ(m.limit({kRel, ForkNumber::fsm}), 0u);
  EXPECT_FALSE(m.limit({kRel, ForkNumber::init}));
  // Only the forks its flags name.
  ChangeMap heap_only;
  note_wal_record(Rec(2, 0x20, truncate(3, 0x1)).record, 18, heap_only);
  EXPECT_EQ(heap_only.limit({kRel, ForkNumber::main}), 3u);
  EXPECT_EQ(heap_only.fork_count(), 1u);
  ChangeMap vm_only;
  note_wal_record(Rec(2, 0x20, truncate(3, 0x2)).record, 18, vm_only);
  EXPECT_EQ(vm_only.limit({kRel, ForkNumber::visibility_map}), 0u);
  EXPECT_FALSE(vm_only.limit({kRel, ForkNumber::main}));
  expect_corrupt(Rec(2, 0x20, Bytes(19)), 16, "storage truncate record");
}

Bytes drop_db(std::uint32_t db, std::vector<std::uint32_t> spcs) {
  Bytes d;
  put_u32le(d, db);
  put_u32le(d, static_cast<std::uint32_t>(spcs.size()));
  for (auto s : spcs) put_u32le(d, s);
  return d;
}
Bytes create_db(std::uint32_t db, std::uint32_t spc, bool with_source) {
  Bytes d;
  put_u32le(d, db);
  put_u32le(d, spc);
  if (with_source) {
    put_u32le(d, 1);
    put_u32le(d, kDefaultTablespaceOid);
  }
  return d;
}

TEST(WalChanges, DatabaseCreateAndDropIn14) {
  ChangeMap m;
  note_wal_record(Rec(4, 0x00, create_db(16400, kDefaultTablespaceOid, true)).record, 14, m);
  note_wal_record(Rec(4, 0x00, create_db(16400, 16500, true)).record, 14, m);
  note_wal_record(Rec(4, 0x10, drop_db(16401, {kDefaultTablespaceOid, 16500})).record, 14, m);
  EXPECT_TRUE(m.database_changed({kDefaultTablespaceOid, 16400}));
  EXPECT_TRUE(m.database_changed({16500, 16400}));
  EXPECT_TRUE(m.database_changed({kDefaultTablespaceOid, 16401}));
  EXPECT_TRUE(m.database_changed({16500, 16401}));
  EXPECT_EQ(m.database_count(), 4u);
  // 0x20 means nothing to 14's dbase resource manager.
  ChangeMap none;
  note_wal_record(Rec(4, 0x20, drop_db(16401, {kDefaultTablespaceOid})).record, 14, none);
  EXPECT_EQ(none.database_count(), 0u);
}

TEST(WalChanges, DatabaseCreateAndDropFrom15) {
  for (int major : {15, 16, 17, 18}) {
    SCOPED_TRACE(major);
    ChangeMap m;
    note_wal_record(Rec(4, 0x00, create_db(16400, kDefaultTablespaceOid, true)).record, major, m);
    note_wal_record(Rec(4, 0x10, create_db(16402, kDefaultTablespaceOid, false)).record, major, m);
    note_wal_record(Rec(4, 0x20, drop_db(16403, {16500})).record, major, m);
    EXPECT_TRUE(m.database_changed({kDefaultTablespaceOid, 16400}));
    EXPECT_TRUE(m.database_changed({kDefaultTablespaceOid, 16402}));
    EXPECT_TRUE(m.database_changed({16500, 16403}));
    EXPECT_EQ(m.database_count(), 3u);
    expect_corrupt(Rec(4, 0x10, Bytes(7)), major, "database create record");
    Bytes cut = drop_db(16403, {16500, 16501});
    cut.pop_back();
    expect_corrupt(Rec(4, 0x20, cut), major, "ends inside its tablespace oids");
    Bytes negative;
    put_u32le(negative, 16403);
    put_u32le(negative, 0xFFFFFFFFu);
    expect_corrupt(Rec(4, 0x20, negative), major, "negative tablespace count -1");
  }
}

// A transaction end's main data: xact_time, then xinfo and its parts.
Bytes xact_end_data(std::uint32_t xinfo, std::vector<std::uint32_t> subxacts, std::vector<RelFileLocator> rels,
               bool trailing = true) {
  Bytes d;
  put_u64le(d, 849838413932634ull);
  put_u32le(d, xinfo);
  if (xinfo & 1) {
    put_u32le(d, 5);
    put_u32le(d, kDefaultTablespaceOid);
  }
  if (xinfo & 2) {
    put_u32le(d, static_cast<std::uint32_t>(subxacts.size()));
    for (auto x : subxacts) put_u32le(d, x);
  }
  if (xinfo & 4) {
    put_u32le(d, static_cast<std::uint32_t>(rels.size()));
    for (const auto& r : rels) put_rel(d, r);
  }
  if (trailing) {
    // What follows (dropped stats items, invalidations, ...) is not read.
    for (int i = 0; i < 20; ++i) d.push_back(0xEE);
  }
  return d;
}

TEST(WalChanges, TransactionEndsDropTheirRelationsOnEveryFork) {
  // Commit, abort, commit prepared, abort prepared, each with XLOG_XACT_HAS_INFO.
  for (std::uint8_t op : {0x00, 0x20, 0x30, 0x40}) {
    SCOPED_TRACE(int{op});
    ChangeMap m;
    Rec r(1, static_cast<std::uint8_t>(op | 0x80), xact_end_data(1 | 2 | 4, {900, 901, 902}, {kRel, kOther}));
    note_wal_record(r.record, 16, m);
    for (const auto& rel : {kRel, kOther})
      for (ForkNumber f : {ForkNumber::main, ForkNumber::fsm, ForkNumber::visibility_map, ForkNumber::init})
        EXPECT_EQ(m.limit({rel, f}), 0u);
    EXPECT_EQ(m.fork_count(), 8u);
  }
  // Without subtransactions or database info the relations come first.
  ChangeMap m;
  note_wal_record(Rec(1, 0x80, xact_end_data(4, {}, {kOther})).record, 14, m);
  EXPECT_EQ(m.limit({kOther, ForkNumber::main}), 0u);
  EXPECT_EQ(m.fork_count(), 4u);
}

TEST(WalChanges, OtherTransactionRecordsChangeNothing) {
  ChangeMap m;
  // Without xinfo a commit drops nothing, whatever follows xact_time.
  note_wal_record(Rec(1, 0x00, Bytes(8)).record, 15, m);
  // Prepare (0x10), assignment (0x50), invalidations (0x60).
  for (std::uint8_t op : {0x10, 0x50, 0x60}) note_wal_record(Rec(1, op, xact_end_data(4, {}, {kRel})).record, 15, m);
  EXPECT_EQ(m.fork_count(), 0u);
}

TEST(WalChanges, ShortTransactionRecordsAreCorrupt) {
  expect_corrupt(Rec(1, 0x80, Bytes(7)), 15, "ends inside its xact_time");
  expect_corrupt(Rec(1, 0x80, Bytes(10)), 15, "ends inside its xinfo");
  Bytes subs = xact_end_data(2, {1, 2, 3}, {}, false);
  subs.resize(subs.size() - 2);
  expect_corrupt(Rec(1, 0x80, subs), 15, "ends inside its subtransaction xids");
  Bytes rels = xact_end_data(4, {}, {kRel, kOther}, false);
  rels.resize(rels.size() - 1);
  expect_corrupt(Rec(1, 0xA0, rels), 17, "invalid transaction record at 0/15000028 (main data of");
  expect_corrupt(Rec(1, 0xA0, rels), 17, "ends inside its dropped relations");
  Bytes negative = xact_end_data(4, {}, {}, false);
  negative[negative.size() - 1] = 0x80;
  expect_corrupt(Rec(1, 0x80, negative), 18, "negative relation count");
}


// The real WAL of make_change_fixtures.sh, read whole.
class WalChangesMajor : public ::testing::TestWithParam<int> {
 protected:
  static ChangeMap read_all(const testing::WalFixture& f) {
    WalReader r(f.expected_u64("segment_bytes"));
    ChangeMap m;
    for (const auto& s : f.segments) {
      r.feed(s.name, s.bytes);
      while (const WalRecord* rec = r.next()) note_wal_record(*rec, f.major, m);
    }
    return m;
  }
  RelFileLocator rel(const testing::WalFixture& f, const std::string& key) const {
    return {kDefaultTablespaceOid, static_cast<std::uint32_t>(f.expected_u64("database_oid")),
            static_cast<std::uint32_t>(f.expected_u64(key))};
  }
};

TEST_P(WalChangesMajor, HoldsTheLimitsAndDatabaseEventsTheServerReported) {
  const testing::WalFixture& f = testing::wal_change_fixture(GetParam());
  const ChangeMap m = read_all(f);
  // VACUUM cut the tail table at its new length; the maps of that fork are read again whole.
  const RelFileLocator tail = rel(f, "tail_relfilenode");
  EXPECT_EQ(m.limit({tail, ForkNumber::main}), f.expected_u64("tail_blocks_after_vacuum"));
  EXPECT_EQ(m.limit({tail, ForkNumber::visibility_map}), 0u);
  EXPECT_EQ(m.limit({tail, ForkNumber::fsm}), 0u);
  // TRUNCATE created a new file and its commit dropped the old one.
  EXPECT_EQ(m.limit({rel(f, "truncated_new_relfilenode"), ForkNumber::main}), 0u);
  // Dropped by a commit, a commit of a prepared transaction, an abort: every fork at 0.
  for (const char* key : {"truncated_old_relfilenode", "dropped_relfilenode", "dropped_prepared_relfilenode",
                          "rolled_back_relfilenode"}) {
    SCOPED_TRACE(key);
    for (ForkNumber fork : {ForkNumber::main, ForkNumber::fsm, ForkNumber::visibility_map, ForkNumber::init})
      EXPECT_EQ(m.limit({rel(f, key), fork}), 0u);
  }
  // Nothing else of the tail table was limited: its untouched head is taken from the last snapshot.
  EXPECT_FALSE(m.limit({tail, ForkNumber::init}));
  EXPECT_TRUE(m.database_changed({kDefaultTablespaceOid, static_cast<std::uint32_t>(f.expected_u64("file_copy_database_oid"))}));
  EXPECT_TRUE(m.database_changed({kDefaultTablespaceOid, static_cast<std::uint32_t>(f.expected_u64("dropped_database_oid"))}));
  if (f.major >= 15) {
    EXPECT_TRUE(m.database_changed({kDefaultTablespaceOid, static_cast<std::uint32_t>(f.expected_u64("wal_log_database_oid"))}));
    EXPECT_EQ(m.database_count(), 2u);
  } else {
    EXPECT_EQ(m.database_count(), 1u);
  }
  EXPECT_FALSE(m.database_changed({kDefaultTablespaceOid, static_cast<std::uint32_t>(f.expected_u64("database_oid"))}));
}

INSTANTIATE_TEST_SUITE_P(Majors, WalChangesMajor, ::testing::Values(14, 15, 16, 17, 18),
                         [](const auto& info) { return "pg" + std::to_string(info.param); });

// pg_waldump_blocks.txt: "spc/db/rel fork block", one distinct block a line, as Debian's
// pg_waldump 15 reported them when the fixture was made.
TEST(WalChanges, HoldsEveryBlockPgWaldumpReportsIn15) {
  const testing::WalFixture& f = testing::wal_change_fixture(15);
  WalReader r(f.expected_u64("segment_bytes"));
  ChangeMap m;
  for (const auto& s : f.segments) {
    r.feed(s.name, s.bytes);
    while (const WalRecord* rec = r.next()) note_wal_record(*rec, 15, m);
  }
  std::ifstream in(f.dir + "/pg_waldump_blocks.txt");
  ASSERT_TRUE(in) << "missing pg_waldump_blocks.txt in " << f.dir;
  std::size_t lines = 0, missing = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::uint32_t spc = 0, db = 0, relnum = 0, fork = 0, block = 0;
    char slash1 = 0, slash2 = 0;
    ASSERT_TRUE(fields >> spc >> slash1 >> db >> slash2 >> relnum >> fork >> block) << line;
    ASSERT_LE(fork, 3u) << line;
    std::vector<std::uint32_t> got;
    m.blocks_in({{spc, db, relnum}, static_cast<ForkNumber>(fork)}, block, block + 1, got);
    if (got.empty() && ++missing <= 5) ADD_FAILURE() << "pg_waldump's block " << line << " is not in the map";
    ++lines;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_GT(lines, 500u);  // the WAL_LOG copy of a database alone references hundreds
  EXPECT_GE(m.block_count(), lines);
}

}  // namespace
}  // namespace pgdr::pg
