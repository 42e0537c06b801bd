// The retail data set (share/retail) from inside pgdr: load it into a database and hand its pgbench
// sales workload to whoever runs pgbench (pgdr demo, tests). The SQL is the files of share/retail,
// carried in the binary (demo/retail_files.h), so what pgdr loads is what psql and bench/ load.
// Free functions; each call opens its own connection, so they may run concurrently.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::demo {

// One pgbench script of the workload: name ("sale"), text (the SQL file) and its weight in the
// mix (pgbench -f FILE@WEIGHT).
struct WorkloadScript {
  std::string name;
  std::string_view text;
  int weight = 0;
};

// Called after each loading step ("schema", "reference data", "prices", "customers", "sales",
// "stock", "daily sales", "analyze") with the steps done so far, their total and the step's time.
using LoadProgress = std::function<void(const std::string& step, int done, int total, double seconds)>;

// Creates schema "retail" (dropping one that exists) in the database conninfo names, runs the
// generator at scale (1 is about 100 MB on disk with indexes; (0, 1000]), refreshes the
// materialized view retail.daily_sales and analyzes the tables. Each step commits on its own.
// Throws Error(usage) for a scale out of range, Error(postgres) when the server fails; messages
// name the server by its redacted conninfo.
void load_retail(const std::string& conninfo, double scale, const LoadProgress& progress = {});

// The text of share/retail/schema.sql.
std::string_view retail_schema_sql();

// The workload: sale 90, restock 8, price_change 2 (the mix share/retail/workload/*.sql recommend).
std::vector<WorkloadScript> retail_workload();

// Writes each workload script to DIR/NAME.sql (DIR is created if missing) and returns pgbench's
// arguments for the mix: {"-f", "DIR/sale.sql@90", "-f", ...}. Throws Error(io).
std::vector<std::string> write_workload_scripts(const std::string& dir);

}  // namespace pgdr::demo
