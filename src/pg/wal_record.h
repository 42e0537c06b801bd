// One decoded WAL record, as WalReader (pg/wal_reader.h) hands it out: the fixed header, the
// block references (which relation blocks the record touches, with their full-page images and
// per-block data) and the main data, in the terms of PostgreSQL's src/include/access/xlogrecord.h.
//
// Every view (ByteView, span) points into the reader's buffers or the segment it was fed, and is
// valid until the reader's next call to next() or feed(); copy what must outlive that.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>

#include "core/bytes.h"
#include "pg/lsn.h"

namespace pgdr::pg {

// Resource manager ids that pgdr looks into (src/include/access/rmgrlist.h, equal in 14-18).
inline constexpr std::uint8_t kRmgrXlog = 0;
inline constexpr std::uint8_t kRmgrTransaction = 1;

// xl_info bits of the XLOG resource manager (src/include/catalog/pg_control.h).
inline constexpr std::uint8_t kXlogSwitch = 0x40;
inline constexpr std::uint8_t kXlogOverwriteContrecord = 0xD0;

// The relation a block belongs to: RelFileNode in 14-15, RelFileLocator from 16 (same bytes).
struct RelFileLocator {
  std::uint32_t spc_oid = 0;
  std::uint32_t db_oid = 0;
  std::uint32_t rel_number = 0;  // the relfilenode: the file name under the database directory
  auto operator<=>(const RelFileLocator&) const = default;
};

enum class ForkNumber : std::uint8_t { main = 0, fsm = 1, visibility_map = 2, init = 3 };

enum class ImageCompression : std::uint8_t { none, pglz, lz4, zstd };

// A full-page image as stored: the page without its hole (the unused middle of the page, all
// zeros), compressed or not. Its length is bytes.size().
struct BlockImage {
  ByteView bytes;
  std::uint16_t hole_offset = 0;
  std::uint16_t hole_length = 0;
  ImageCompression compression = ImageCompression::none;
  // Replay restores the page from this image. False when the image is there only for
  // wal_consistency_checking (the block must then be replayed from its data as usual).
  bool apply = false;
};

// One block reference of a record (XLogRecordBlockHeader and what follows it).
struct BlockRef {
  std::uint8_t id = 0;  // 0..32, increasing within a record
  RelFileLocator rel;
  ForkNumber fork = ForkNumber::main;
  std::uint32_t block = 0;
  // Redo re-initialises the page from scratch (BKPBLOCK_WILL_INIT): its old content is not needed.
  bool will_init = false;
  bool has_image = false;
  BlockImage image;  // meaningful when has_image
  bool has_data = false;
  ByteView data;  // the rmgr's per-block payload; empty unless has_data
};

struct WalRecord {
  Lsn lsn;       // where the record starts
  // The end of the record rounded up to 8 bytes (the next segment's start after a switch), as
  // PostgreSQL's EndRecPtr: the next record starts there, or after the page header when that is a
  // page boundary.
  Lsn end_lsn;
  Lsn prev;      // xl_prev: the previous record's lsn
  std::uint32_t total_bytes = 0;  // xl_tot_len: header, block headers, images and data
  std::uint32_t xid = 0;
  std::uint8_t rmid = 0;
  std::uint8_t info = 0;  // xl_info; the rmgr's own bits are info & 0xF0
  std::span<const BlockRef> blocks;
  ByteView main_data;
  std::optional<std::uint16_t> origin;        // replication origin (block id 253)
  std::optional<std::uint32_t> toplevel_xid;  // a subtransaction's top-level xid (block id 252)
};

}  // namespace pgdr::pg
