// pg_amcheck over a whole server: every heap table (with its TOAST) and every B-tree index of every
// database, checked by PostgreSQL's amcheck extension (installed where missing, so run it on
// copies, never on production). Findings are values: the relations named, and pg_amcheck's lines.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace pgdr::pg {

struct AmcheckOptions {
  std::string program;                // pg_amcheck (see find_client_program)
  std::vector<std::string> libpq_env; // PGHOST, PGPORT, PGUSER of the server to check
  bool heapallindexed = false;        // also check that every heap tuple has its index entries (slower)
  int jobs = 2;
};

struct AmcheckResult {
  bool ok = false;                  // no corruption and no error
  int exit_code = 0;                // pg_amcheck's: 0 clean, 2 corruption, 1 could not run
  std::set<std::string> relations;  // "db.schema.relation" named by a finding
  std::vector<std::string> lines;   // what pg_amcheck said (at most 200 lines)
  double seconds = 0;
};

AmcheckResult run_amcheck(const AmcheckOptions& options);

// The relation names ("db.schema.rel") in pg_amcheck's report lines, e.g.
// `heap table "shop.public.sales", block 3, offset 2:` or `btree index "shop.public.sales_pkey":`.
std::set<std::string> amcheck_relations(const std::vector<std::string>& lines);

}  // namespace pgdr::pg
