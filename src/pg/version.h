// What differs between the PostgreSQL majors pgdr supports (14 to 18), in one place. Nothing above
// pg/ compares a version number: it asks this layer what a major does (which backup functions,
// which WAL page magic, whether checksums are on by default) and gets the answer as a value.
//
// A major that this file does not know is refused before anything is written: its WAL page format,
// pg_control layout or backup functions may have changed in ways pgdr cannot check.
// Everything here is a pure function of its arguments; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgdr::pg {

inline constexpr int kOldestMajor = 14;
inline constexpr int kNewestMajor = 18;

// 150004 -> 15 (server_version_num of 10 and later).
constexpr int major_of(int version_num) { return version_num / 10000; }
constexpr bool is_supported_major(int major) { return major >= kOldestMajor && major <= kNewestMajor; }

// "15.4" from 150004; for messages and reports.
std::string version_text(int version_num);
// "PostgreSQL 14 to 18", for messages that name the supported range.
std::string supported_range_text();

// Throws Error(postgres) "unsupported PostgreSQL <version> at <where> (pgdr supports PostgreSQL
// 14 to 18)" unless version_num belongs to a supported major.
void require_supported_version(int version_num, const std::string& where);

// The first two bytes of every WAL page header (XLOG_PAGE_MAGIC) written by a major; a server of
// another major refuses the page, so pgdr does too. nullopt for an unsupported major.
std::optional<std::uint16_t> wal_page_magic(int major);
// The supported major whose WAL pages start with magic; nullopt for any other value.
std::optional<int> major_of_wal_page_magic(std::uint16_t magic);

// The non-exclusive backup functions. 14 names them pg_start_backup/pg_stop_backup (the exclusive
// mode still exists there and must not be asked for); 15 renamed them and removed exclusive mode.
// Both take ($1 label, $2 fast checkpoint) and return the start LSN; the stop query returns
// (lsn text, labelfile text) with the tablespace map left to pgdr.
struct BackupFunctions {
  std::string start_sql;
  std::string stop_sql;
};
BackupFunctions backup_functions(int major);

// READ_REPLICATION_SLOT exists on replication connections from 15 on; before, a slot is read
// through pg_replication_slots on an ordinary connection.
constexpr bool has_read_replication_slot(int major) { return major >= 15; }

// The WAL summarizer (summarize_wal, pg_wal/summaries, pg_get_wal_summarizer_state()) exists from 17 on.
constexpr bool has_wal_summaries(int major) { return major >= 17; }

// initdb enables data checksums unless told otherwise from 18 on.
constexpr bool checksums_on_by_default(int major) { return major >= 18; }

// The subdirectory of a tablespace that belongs to this major's catalog version ("PG_15_"; the
// catalog number follows and is not checked here).
std::string tablespace_version_prefix(int major);

}  // namespace pgdr::pg
