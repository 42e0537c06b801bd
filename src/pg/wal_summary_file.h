// PostgreSQL 17+'s WAL summary files (pg_wal/summaries, written by the WAL summarizer when
// summarize_wal = on): which relation blocks the WAL of one timeline changed between two LSNs.
//
// Name: TTTTTTTTSSSSSSSSSSSSSSSSEEEEEEEEEEEEEEEE.summary, upper-case hex: timeline, start LSN, end
// LSN (walsummary.c). The file covers the records that start in [start, end).
//
// Content, as WriteBlockRefTable (src/common/blkreftable.c, the same in 17 and 18) writes it, every
// integer in the host's byte order (little-endian on the hosts pgdr runs on):
//
//   file   = magic u32 (0x652B137B) | entry* | sentinel | crc u32
//   entry  = spc oid u32 | db oid u32 | relfilenumber u32 | fork i32 | limit block u32 |
//            chunk count u32 | chunk usage u16 [chunk count] | chunk*
//   chunk  = for each chunk whose usage is not 0: usage < 4096: that many u16 offsets into the
//            chunk's 65536 blocks; usage = 4096: a bitmap of the 65536 blocks (u16 words, least
//            significant bit first)
//   sentinel = 24 zero bytes (an entry of all zeros)
//   crc    = CRC-32C of every byte before it
//
// A limit block of 0xFFFFFFFF (InvalidBlockNumber) means none. Entries with relfilenumber 0 are
// the summarizer's mark for a whole database created or dropped in that tablespace (dbase
// records); PostgreSQL's incremental backup then copies every file of it whole, and so does the
// map: such an entry adds its database as well. The summarizer never records the free space map
// fork, which is not fully WAL-logged: a reader of a map made from summaries must copy it whole.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "pg/change_map.h"
#include "pg/lsn.h"

namespace pgdr::pg {

inline constexpr std::string_view kWalSummaryDirectory = "pg_wal/summaries";

struct WalSummaryName {
  std::uint32_t timeline = 0;
  Lsn start;
  Lsn end;
  auto operator<=>(const WalSummaryName&) const = default;
};

// Parses a summary file's name exactly as PostgreSQL recognises one (40 upper-case hex digits,
// then ".summary"); nullopt for anything else (temp.summary, say).
std::optional<WalSummaryName> parse_wal_summary_file_name(std::string_view name);
std::string wal_summary_file_name(const WalSummaryName& name);

// The change map of one summary file's content. file names it in messages. Throws
// Error(corrupt) "WAL summary <file>: <why>" for any byte that does not fit the format above:
// wrong magic, a length beyond what remains, a fork or chunk usage out of range, a missing
// sentinel, a CRC mismatch, bytes after the CRC.
ChangeMap read_wal_summary(ByteView content, std::string_view file);

}  // namespace pgdr::pg
