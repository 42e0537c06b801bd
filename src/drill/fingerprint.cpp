#include "drill/fingerprint.h"

#include <algorithm>

#include "core/error.h"
#include "core/interrupt.h"

namespace pgdr::drill {

namespace {

// User relations, outside system schemas and pgdr's own, not owned by an extension.
constexpr const char* kUserNamespaces =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgdr') AND n.nspname NOT LIKE 'pg_toast%' "
    "AND n.nspname NOT LIKE 'pg_temp%'";

constexpr const char* kSchemaQuery = R"sql(
SELECT 'column ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' (' || c.relkind::text || ') ' ||
       quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ||
       CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
       COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND %NS%
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e')
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE %NS%
UNION ALL
SELECT 'constraint ' || quote_ident(n.nspname) || '.' || quote_ident(r.relname) || ' ' || quote_ident(k.conname) ||
       ' ' || pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
WHERE %NS%
UNION ALL
SELECT 'view ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ' || pg_get_viewdef(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND %NS%
UNION ALL
SELECT 'sequence ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND %NS%
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e')
UNION ALL
SELECT 'function ' || quote_ident(n.nspname) || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) ||
       ') ' || md5(COALESCE(p.prosrc, ''))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE %NS% AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = p.oid AND e.deptype = 'e')
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND %NS%
)sql";

std::string with_namespaces(std::string sql) {
  for (std::size_t at; (at = sql.find("%NS%")) != std::string::npos;) sql.replace(at, 4, kUserNamespaces);
  return sql;
}

std::string quote_ident(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

RowSum add(RowSum a, const RowSum& b) {
  a.rows += b.rows;
  a.digest_sum = add_decimal(a.digest_sum, b.digest_sum);
  return a;
}

}  // namespace

std::string add_decimal(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    out.push_back(static_cast<char>('0' + d % 10));
    carry = d / 10;
  }
  while (out.size() > 1 && out.back() == '0') out.pop_back();
  std::reverse(out.begin(), out.end());
  return out.empty() ? "0" : out;
}

std::set<std::string> schema_lines(pg::Connection& db) {
  std::set<std::string> out;
  for (const auto& row : db.query(with_namespaces(kSchemaQuery)).rows)
    if (row[0]) out.insert(*row[0]);
  return out;
}

std::uint64_t full_xid(std::uint32_t xid, std::uint64_t next) {
  std::uint64_t full = (next & ~std::uint64_t{0xFFFFFFFF}) | xid;
  if (full > next && full >= (std::uint64_t{1} << 32)) full -= std::uint64_t{1} << 32;
  return full;
}

DatabaseFingerprint fingerprint_database(pg::Connection& db, std::uint64_t recent_window) {
  DatabaseFingerprint fp;
  fp.recent_window = recent_window;
  fp.next_xid = std::stoull(db.query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").scalar());
  fp.schema = schema_lines(db);
  auto tables = db.query(with_namespaces(
      "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p' AND %NS% "
      "AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e') ORDER BY 1, 2"));
  // Rows of transactions within the window are grouped by xmin; the rest (and frozen rows, whose
  // age is the maximum) are summed together. The window is capped below 2^31 by age()'s range.
  const std::uint64_t window = std::min<std::uint64_t>(recent_window, 2'000'000'000);
  for (const auto& row : tables.rows) {
    throw_if_interrupted();
    const std::string name = *row[0] + "." + *row[1];
    const std::string rel = quote_ident(*row[0]) + "." + quote_ident(*row[1]);
    TableFingerprint t;
    // Savepoint: a table that cannot be read (a damaged page) is a finding, not the end of the scan.
    db.exec("SAVEPOINT pgdr_table");
    try {
      auto r = db.query(
          "SELECT CASE WHEN age(xmin) < " + std::to_string(window) + " THEN xmin::text ELSE '' END, count(*), "
          "COALESCE(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)::text "
          "FROM ONLY " + rel + " t GROUP BY 1");
      for (const auto& g : r.rows) {
        RowSum s{std::stoull(*g[1]), *g[2]};
        if (g[0]->empty()) t.old_rows = add(t.old_rows, s);
        else t.recent[full_xid(static_cast<std::uint32_t>(std::stoull(*g[0])), fp.next_xid)] = s;
      }
      db.exec("RELEASE SAVEPOINT pgdr_table");
    } catch (const Error& e) {
      db.exec("ROLLBACK TO SAVEPOINT pgdr_table");
      t.error = e.what();
    }
    fp.tables[name] = std::move(t);
  }
  return fp;
}

const char* verdict_name(TableVerdict v) {
  switch (v) {
    case TableVerdict::identical: return "identical";
    case TableVerdict::changed_after_point: return "changed after the recovery point";
    case TableVerdict::not_comparable: return "not comparable";
    case TableVerdict::mismatch: return "mismatch";
    case TableVerdict::missing: return "missing";
    case TableVerdict::unreadable: return "unreadable";
  }
  return "?";
}

bool DatabaseComparison::failed() const {
  if (!schema_only_in_source.empty() || !schema_only_in_copy.empty()) return true;
  for (const auto& t : tables)
    if (t.verdict == TableVerdict::mismatch || t.verdict == TableVerdict::missing ||
        t.verdict == TableVerdict::unreadable)
      return true;
  return false;
}

DatabaseComparison compare_databases(const DatabaseFingerprint& source, const DatabaseFingerprint& copy,
                                     std::uint64_t copy_next_xid) {
  DatabaseComparison out;
  std::set_difference(source.schema.begin(), source.schema.end(), copy.schema.begin(), copy.schema.end(),
                      std::back_inserter(out.schema_only_in_source));
  std::set_difference(copy.schema.begin(), copy.schema.end(), source.schema.begin(), source.schema.end(),
                      std::back_inserter(out.schema_only_in_copy));
  // The copy may have lost more transactions than the source kept apart: rows of the oldest lost
  // ones are then mixed with rows the copy has, and no table with recent rows can be compared.
  const bool window_covers = source.next_xid < source.recent_window ||
                             copy_next_xid >= source.next_xid - source.recent_window;
  for (const auto& [name, src] : source.tables) {
    TableComparison c;
    c.table = name;
    auto it = copy.tables.find(name);
    if (it == copy.tables.end()) {
      c.verdict = TableVerdict::missing;
      c.detail = "the table is not in the restored copy";
      out.tables.push_back(c);
      continue;
    }
    const TableFingerprint& dst = it->second;
    if (!dst.error.empty()) {
      c.verdict = TableVerdict::unreadable;
      c.detail = "the restored table cannot be read: " + dst.error;
      out.tables.push_back(c);
      continue;
    }
    if (!src.error.empty()) {
      c.verdict = TableVerdict::not_comparable;
      c.detail = "the source table could not be read: " + src.error;
      out.tables.push_back(c);
      continue;
    }
    RowSum at_point = src.old_rows;
    std::uint64_t later_rows = 0;
    for (const auto& [xid, sum] : src.recent) {
      if (xid < copy_next_xid) at_point = add(at_point, sum);
      else later_rows += sum.rows;
    }
    RowSum copy_all = dst.old_rows;
    for (const auto& [xid, sum] : dst.recent) copy_all = add(copy_all, sum);
    if (at_point == copy_all && later_rows == 0) {
      c.verdict = TableVerdict::identical;
      c.detail = std::to_string(copy_all.rows) + " rows";
    } else if (later_rows > 0 && !window_covers) {
      c.verdict = TableVerdict::not_comparable;
      c.detail = "the copy lost more transactions than the source's capture kept apart";
    } else if (at_point == copy_all) {
      c.verdict = TableVerdict::changed_after_point;
      c.detail = std::to_string(copy_all.rows) + " rows identical at the recovery point; " + std::to_string(later_rows) +
                 " row versions written after it (lost)";
    } else if (later_rows > 0) {
      c.verdict = TableVerdict::changed_after_point;
      c.detail = "updated after the recovery point (" + std::to_string(later_rows) +
                 " new row versions on the source): compared by amcheck only";
    } else {
      c.verdict = TableVerdict::mismatch;
      c.detail = "source " + std::to_string(at_point.rows) + " rows, restored " + std::to_string(copy_all.rows) +
                 " rows" + (at_point.rows == copy_all.rows ? ", contents differ" : "") +
                 " (no write after the recovery point explains it; a DELETE-only change would)";
    }
    out.tables.push_back(c);
  }
  for (const auto& [name, dst] : copy.tables) {
    if (source.tables.count(name)) continue;
    TableComparison c;
    c.table = name;
    c.verdict = TableVerdict::mismatch;
    c.detail = "the table exists only in the restored copy";
    out.tables.push_back(c);
  }
  return out;
}

}  // namespace pgdr::drill
