#include "cli/audit_record.h"

#include "core/log.h"
#include "repo/audit_log.h"

namespace pgdr::cli {

void record_audit(const repo::Repository& repo, const std::string& command, const std::string& what,
                  const std::string& result, const std::string& details) {
  try {
    repo::AuditEntry e;
    e.command = command;
    e.what = what;
    e.result = result;
    e.details = details;
    repo::append_audit(repo, e);
  } catch (const std::exception& e) {
    log_warning(std::string("unable to record ") + command + " in the audit log: " + e.what());
  }
}

void record_audit(const std::vector<const repo::Repository*>& repos, const std::string& command,
                  const std::string& what, const std::string& result, const std::string& details) {
  for (const auto* r : repos) record_audit(*r, command, what, result, details);
}

}  // namespace pgdr::cli
