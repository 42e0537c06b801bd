// Records a command's outcome in the repository's audit log (repo/audit_log.h) from the command
// edge. A failure to record is a warning, never the command's failure: the backup or restore
// itself is what the user asked for.
#pragma once

#include <exception>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace pgdr::cli {

void record_audit(const repo::Repository& repo, const std::string& command, const std::string& what,
                  const std::string& result, const std::string& details);
// The same entry in each repository.
void record_audit(const std::vector<const repo::Repository*>& repos, const std::string& command,
                  const std::string& what, const std::string& result, const std::string& details);

// Runs fn; when it throws, records "ERROR" with the error's message in each repository and
// rethrows. (Success is recorded by the caller, which knows what was done.)
template <typename Fn>
auto audited(const std::vector<const repo::Repository*>& repos, const std::string& command, const std::string& what,
             Fn fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    record_audit(repos, command, what, "ERROR", e.what());
    throw;
  }
}

}  // namespace pgdr::cli
