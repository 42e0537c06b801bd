// A change map: which relation blocks changed in a stretch of WAL, in PostgreSQL's own terms
// (tablespace, database, relfilenode, fork, block), the same information PostgreSQL 17's WAL
// summaries hold (src/include/common/blkreftable.h). A snapshot reads by it only the blocks that
// changed since the previous snapshot's start and takes every other block from that snapshot.
//
// Three kinds of change:
//   block     a block some record references (its content changed, or will be re-initialised);
//   limit     the relation fork was created, truncated or dropped: every block at or past the
//             limit must be read whole (a fork created or dropped has limit 0), and the smallest
//             limit seen wins;
//   database  a database was created or dropped as a whole (CREATE DATABASE ... STRATEGY
//             FILE_COPY copies files without per-block records; DROP DATABASE): every file of
//             that database directory must be read whole.
//
// A map only ever grows: merging two maps gives every change of either. Over-reporting costs a
// read; under-reporting loses data, so every producer errs on the side of more.
//
// Memory: blocks are kept per relation fork in chunks of 65536 blocks, each a sorted array of
// 16-bit offsets while it holds fewer than 4096 blocks and a 8 KiB bitmap beyond; so a map never
// takes more than 8 KiB per 512 MiB of relation it touches (32 MiB for a 2 TB database, however
// many blocks changed), plus about a hundred bytes of bookkeeping per such chunk and per relation
// fork (tree nodes and allocation headers, which memory_bytes() counts too).
//
// Not thread-safe for writing; const methods may be called from many threads at once.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "pg/wal_record.h"

namespace pgdr::pg {

// PostgreSQL's tablespace oids for the default and the shared tablespace (base/ and global/).
inline constexpr std::uint32_t kDefaultTablespaceOid = 1663;
inline constexpr std::uint32_t kGlobalTablespaceOid = 1664;

struct RelationFork {
  RelFileLocator rel;
  ForkNumber fork = ForkNumber::main;
  auto operator<=>(const RelationFork&) const = default;
};

struct DatabaseKey {
  std::uint32_t spc_oid = 0;
  std::uint32_t db_oid = 0;
  auto operator<=>(const DatabaseKey&) const = default;
};

class ChangeMap {
 public:
  ChangeMap();
  ~ChangeMap();
  ChangeMap(ChangeMap&&) noexcept;
  ChangeMap& operator=(ChangeMap&&) noexcept;
  ChangeMap(const ChangeMap&) = delete;
  ChangeMap& operator=(const ChangeMap&) = delete;

  void add_block(const RelationFork& fork, std::uint32_t block);
  // Lowers the fork's limit to limit_block (a fork first seen gets it).
  void add_limit(const RelationFork& fork, std::uint32_t limit_block);
  void add_database(const DatabaseKey& db);
  // Every change of other, added to this.
  void merge(const ChangeMap& other);

  bool database_changed(const DatabaseKey& db) const;
  // The smallest limit block recorded for fork; nullopt when it was never created, truncated or
  // dropped in the stretch of WAL the map covers.
  std::optional<std::uint32_t> limit(const RelationFork& fork) const;
  // Appends to out, in increasing order, the changed blocks of fork in [first, end).
  void blocks_in(const RelationFork& fork, std::uint32_t first, std::uint32_t end,
                 std::vector<std::uint32_t>& out) const;

  // Distinct changed blocks over every fork (limits and databases not counted).
  std::uint64_t block_count() const;
  std::size_t fork_count() const;
  std::size_t database_count() const;
  // The heap memory the map holds, for the bound in the comment above and its test.
  std::size_t memory_bytes() const;

  // A self-describing byte form (versioned, with a CRC-32C over everything before it), for
  // storing a map beside a WAL segment. decode throws Error(corrupt) "<what>: <why>" for any
  // byte that does not fit the format.
  Bytes encode() const;
  static ChangeMap decode(ByteView bytes, const std::string& what);

  bool operator==(const ChangeMap& other) const;

 private:
  struct Forks;
  Forks& forks();
  const Forks& forks() const;

  std::unique_ptr<Forks> forks_;
  std::set<DatabaseKey> databases_;
};

// Adds to map what one WAL record of the given major changes: every block it references (all
// forks, with or without an image), relation forks it creates (XLOG_SMGR_CREATE: limit 0) or
// truncates (XLOG_SMGR_TRUNCATE: the main fork's limit at the new length, the visibility map's
// and free space map's at 0), relations a transaction end drops (limit 0 on every fork), and
// databases created or dropped (the dbase resource manager, whose info values differ in 14). For
// heap records also the visibility-map page that covers each heap block they reference: their
// redo clears bits there without a reference of its own.
// Throws Error(corrupt) when such a record's main data is too short for what it must hold.
void note_wal_record(const WalRecord& record, int major, ChangeMap& map);

}  // namespace pgdr::pg
