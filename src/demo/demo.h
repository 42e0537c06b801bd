// pgdr demo: a whole disaster, end to end, on a throwaway retail shop. Starts its own PostgreSQL
// with the retail data set, archives its WAL with pgdr, sells under a pgbench load while taking
// snapshots, destroys the primary (kill -9, then its data directory removed) and runs a drill with
// what is left: the repository. Needs no configuration; writes its own, in its work directory.
//
// Everything it starts is owned by a guard that stops and removes it on every path (a failure, an
// interrupt), so nothing keeps running after it returns, unless `keep` asks for the clusters to
// stay (stopped) for a look.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace pgdr::demo {

struct DemoOptions {
  double scale = 1;                                     // retail data set scale (1 = about 100 MB)
  std::chrono::seconds sales_duration{30};              // the sales load before the disaster
  int clients = 4;                                      // pgbench clients
  std::string work_dir;                                 // empty: a fresh directory under $TMPDIR
  bool keep = false;                                    // keep the work directory (and the DR copy)
  std::function<void(const std::string& line)> progress;  // one line per step
};

struct DemoResult {
  nlohmann::json drill_report;  // as pgdr drill writes it
  nlohmann::json facts;         // what the demo did: scale, sales, snapshots, disaster time, ...
  std::string work_dir;         // removed unless kept
  std::string config_path;      // the configuration it wrote (in work_dir)
};

DemoResult run_demo(const DemoOptions& options);

// The summary printed at the end: a few lines a newcomer can read without the code.
std::string demo_summary(const DemoResult& result, const std::string& json_path, const std::string& html_path);

}  // namespace pgdr::demo
