#include "demo/retail_dataset.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/bytes.h"
#include "core/error.h"
#include "core/file.h"
#include "demo/retail_files.h"
#include "pg/connection.h"

namespace pgdr::demo {

namespace {

std::string_view embedded(std::string_view name) {
  for (const auto& f : retail_files())
    if (f.name == name) return f.text;
  throw Error(ErrorKind::internal, "retail data set file " + std::string(name) + " is not in this binary");
}

// The weights the workload files recommend in their "Run:" comment.
struct Mix {
  const char* name;
  int weight;
};
constexpr Mix kMix[] = {{"sale", 90}, {"restock", 8}, {"price_change", 2}};

}  // namespace

std::string_view retail_schema_sql() { return embedded("schema.sql"); }

std::vector<WorkloadScript> retail_workload() {
  std::vector<WorkloadScript> out;
  for (const auto& m : kMix)
    out.push_back({m.name, embedded("workload/" + std::string(m.name) + ".sql"), m.weight});
  return out;
}

std::vector<std::string> write_workload_scripts(const std::string& dir) {
  make_directories(dir, 0755);
  std::vector<std::string> args;
  for (const auto& s : retail_workload()) {
    const std::string path = dir + "/" + s.name + ".sql";
    write_file_durably(path, as_bytes(s.text), 0644);
    args.push_back("-f");
    args.push_back(path + "@" + std::to_string(s.weight));
  }
  return args;
}

void load_retail(const std::string& conninfo, double scale, const LoadProgress& progress) {
  if (!std::isfinite(scale) || scale <= 0 || scale > 1000) {
    char text[64];
    std::snprintf(text, sizeof text, "%g", scale);
    throw Error(ErrorKind::usage, "invalid retail data set scale " + std::string(text) + " (must be in (0, 1000])");
  }
  char scale_text[64];
  std::snprintf(scale_text, sizeof scale_text, "%.6f", scale);

  pg::Connection conn(conninfo);
  auto run_step = [&conn](const std::string& step, const std::function<void()>& work) {
    const auto start = std::chrono::steady_clock::now();
    try {
      work();
    } catch (const Error& e) {
      throw Error(e.kind(), "unable to load the retail data set into " + conn.describe() + " (step '" + step +
                                "': " + e.what() + ")");
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  std::vector<std::string> steps;
  const double schema_seconds = run_step("schema", [&] {
    conn.exec(retail_schema_sql());
    for (const auto& row : conn.query("SELECT retail.generate_steps()").rows) steps.push_back(row.at(0).value_or(""));
  });
  const int total = static_cast<int>(steps.size()) + 1;
  if (progress) progress("schema", 1, total, schema_seconds);
  int done = 1;
  for (const auto& step : steps) {
    const double seconds =
        run_step(step, [&] { conn.query("SELECT retail.generate_step($1, $2::numeric)", {step, scale_text}); });
    if (progress) progress(step, ++done, total, seconds);
  }
}

}  // namespace pgdr::demo
