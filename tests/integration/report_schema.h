// Checks a report against its JSON Schema in docs/reports/ (verify, drill, measure, info) with
// tools/check_schema.py, so each test that reads a report also proves the documented contract.
#pragma once

#include <string>

#include "core/subprocess.h"

namespace pgdr::test {

// "" when the JSON document in the file at path ("-": document) is valid against
// docs/reports/<name>.schema.json; otherwise the validator's exit code and every violation it found.
inline std::string report_schema_errors(const std::string& name, const std::string& path,
                                        const std::string& document = {}) {
  const std::string source = PGDR_SOURCE_DIR;
  auto r = run_process({"python3", source + "/tests/integration/tools/check_schema.py",
                        source + "/docs/reports/" + name + ".schema.json", path},
                       document);
  if (r.exit_code == 0) return "";
  return "exit " + std::to_string(r.exit_code) + ": " + r.out + r.err;
}

// The same for a document held in memory (the output of `pgdr info --json`).
inline std::string report_text_schema_errors(const std::string& name, const std::string& document) {
  return report_schema_errors(name, "-", document);
}

}  // namespace pgdr::test
