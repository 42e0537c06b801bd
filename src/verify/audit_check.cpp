#include "repo/audit_log.h"
#include "repo/snapshot_ledger.h"
#include "verify/checks.h"

namespace pgdr::verify {

CheckResult check_audit(const repo::Repository& repo, const repo::AuditLog& log,
                        const std::vector<repo::SnapshotInfo>& snaps) {
  CheckResult r;
  r.name = "audit";
  std::set<std::string> present;
  for (const auto& s : snaps) present.insert(s.id);
  const auto recorded = repo::recorded_snapshots(log.entries);
  const auto vanished = repo::vanished_snapshots(repo, log, present);
  nlohmann::json gone = nlohmann::json::array();
  for (const auto& v : vanished) {
    gone.push_back({{"snapshot", v.id}, {"recorded_by_entry", v.seq}, {"recorded_at", v.time}});
    r.findings.push_back({"critical", "snapshot " + v.id + " of repository '" + repo.name() +
                                          "' vanished without an expire (its backup was recorded by audit entry " +
                                          std::to_string(v.seq) + " at " + v.time + ")"});
  }
  for (const auto& p : log.problems)
    r.findings.push_back({"critical", "audit log of repository '" + repo.name() + "': " + p});
  r.details = {{"entries", log.entries.size()},
               {"recorded_snapshots", recorded.size()},
               {"vanished_snapshots", gone},
               {"chain_problems", log.problems}};
  if (!vanished.empty() || !log.problems.empty()) {
    r.status = CheckStatus::fail;
    r.summary = vanished.empty() ? "audit chain broken: " + log.problems.front()
                                 : std::to_string(vanished.size()) + " snapshot" + (vanished.size() == 1 ? "" : "s") +
                                       " vanished without an expire, first " + vanished.front().id;
    if (!vanished.empty() && !log.problems.empty()) r.summary += "; audit chain broken too";
    return r;
  }
  r.summary = std::to_string(log.entries.size()) + " entries chained; every one of the " +
              std::to_string(recorded.size()) + " snapshots recorded and not expired is present";
  return r;
}

}  // namespace pgdr::verify
