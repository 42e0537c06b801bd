// Fingerprints that let a drill compare a restored database with its source "at the same point":
// the schema as a set of canonical lines (tables and columns, indexes, constraints, views,
// sequences, functions, triggers), and each table's rows as a count and an order-independent sum
// of 60-bit row digests (md5 of the row's text).
//
// The restored copy stops at its recovery point R; the source was captured later, at the moment the
// disaster was declared. Rows that the source wrote after R carry transaction ids the copy never
// assigned, so the source's fingerprint keeps rows of recent transaction ids apart (grouped by
// xmin) and the comparison adds up only those older than the copy's next transaction id:
//   - equal: the table is identical at R;
//   - different, and the source has rows written after R: the table changed in the loss window
//     (updates, inserts) and cannot be compared at R; reported, not failed;
//   - different, and no row written after R: a real divergence (FAIL). A table whose only change
//     after R was a DELETE falls here too; the report says so.
// Functions are pure apart from the queries they run on the connection they are given.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace pgdr::drill {

// Rows of one table: count and sum of row digests (a decimal string: it exceeds 64 bits).
struct RowSum {
  std::uint64_t rows = 0;
  std::string digest_sum = "0";
  bool operator==(const RowSum&) const = default;
};

struct TableFingerprint {
  RowSum old_rows;  // rows whose xmin is older than the recent window (or frozen)
  // Rows of recent transactions by full 64-bit xmin.
  std::map<std::uint64_t, RowSum> recent;
  std::string error;  // the table could not be read (e.g. a damaged page); empty if fine
};

struct DatabaseFingerprint {
  std::set<std::string> schema;                    // canonical schema lines
  std::map<std::string, TableFingerprint> tables;  // "schema.table"
  std::uint64_t next_xid = 0;                      // full next transaction id at capture
  std::uint64_t recent_window = 0;                 // xids kept apart below next_xid
};

// Schema lines of the connected database (user objects; not pg_catalog, information_schema,
// pg_toast or pgdr's own schema, and not objects that belong to an extension).
std::set<std::string> schema_lines(pg::Connection& db);

// Fingerprints every user table and materialized view. recent_window 0: no row kept apart (for the
// copy). Must run inside one REPEATABLE READ transaction for a consistent view.
DatabaseFingerprint fingerprint_database(pg::Connection& db, std::uint64_t recent_window);

// The full (epoch-extended) id of a 32-bit xid seen in a database whose next full xid is next.
std::uint64_t full_xid(std::uint32_t xid, std::uint64_t next);

// Adds decimal strings.
std::string add_decimal(const std::string& a, const std::string& b);

enum class TableVerdict { identical, changed_after_point, not_comparable, mismatch, missing, unreadable };
const char* verdict_name(TableVerdict v);

struct TableComparison {
  std::string table;
  TableVerdict verdict = TableVerdict::identical;
  std::string detail;
};

struct DatabaseComparison {
  std::vector<std::string> schema_only_in_source;
  std::vector<std::string> schema_only_in_copy;
  std::vector<TableComparison> tables;
  bool failed() const;
};

// source: captured at disaster time with a recent window; copy: fingerprinted with window 0;
// copy_next_xid: the copy's next full xid when recovery ended (before it assigned any).
DatabaseComparison compare_databases(const DatabaseFingerprint& source, const DatabaseFingerprint& copy,
                                     std::uint64_t copy_next_xid);

}  // namespace pgdr::drill
