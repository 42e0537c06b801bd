#include "pg/amcheck.h"

#include <chrono>
#include <sstream>

#include "core/subprocess.h"

namespace pgdr::pg {

std::set<std::string> amcheck_relations(const std::vector<std::string>& lines) {
  std::set<std::string> out;
  for (const auto& line : lines) {
    for (const char* kind : {"heap table \"", "btree index \"", "toast table \"", "relation \""}) {
      auto at = line.find(kind);
      if (at == std::string::npos) continue;
      at += std::string(kind).size();
      auto end = line.find('"', at);
      if (end != std::string::npos && end > at) out.insert(line.substr(at, end - at));
      break;
    }
  }
  return out;
}

AmcheckResult run_amcheck(const AmcheckOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> argv = {options.program, "--all", "--install-missing", "--no-password",
                                   "--jobs", std::to_string(std::max(1, options.jobs))};
  if (options.heapallindexed) argv.push_back("--heapallindexed");
  std::vector<std::string> env = options.libpq_env;
  env.push_back("LC_ALL=C");
  ProcessResult r = run_process(argv, {}, env);
  AmcheckResult result;
  result.exit_code = r.exit_code;
  std::istringstream in(r.out + r.err);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (result.lines.size() < 200) result.lines.push_back(line);
  }
  result.relations = amcheck_relations(result.lines);
  result.ok = r.exit_code == 0;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace pgdr::pg
