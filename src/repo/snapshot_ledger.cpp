#include "repo/snapshot_ledger.h"

#include <map>

#include "core/error.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kWhatPrefix = "snapshot ";

bool records_backup(const AuditEntry& e) {
  return e.command == "backup" && (e.result == "OK" || e.result == "WARN") && e.what.starts_with(kWhatPrefix);
}
bool records_expiry(const AuditEntry& e) { return e.command == "expire" && e.what.starts_with(kWhatPrefix); }
std::string snapshot_of(const AuditEntry& e) { return e.what.substr(kWhatPrefix.size()); }

bool info_exists(const Repository& repo, const std::string& id) {
  return repo.store().stat(snapshot_info_object(id)).has_value();
}

}  // namespace

std::string ledger_what(const std::string& snapshot_id) { return std::string(kWhatPrefix) + snapshot_id; }

std::vector<RecordedSnapshot> recorded_snapshots(const std::vector<AuditEntry>& entries) {
  std::map<std::string, RecordedSnapshot> live;
  std::vector<std::string> order;
  for (const auto& e : entries) {
    if (records_backup(e)) {
      const std::string id = snapshot_of(e);
      if (!live.count(id)) order.push_back(id);
      live[id] = {id, e.seq, e.time};
    } else if (records_expiry(e)) {
      live.erase(snapshot_of(e));
    }
  }
  std::vector<RecordedSnapshot> out;
  for (const auto& id : order)
    if (auto it = live.find(id); it != live.end()) out.push_back(it->second);
  return out;
}

void record_expired(const Repository& repo, const std::vector<std::string>& snapshot_ids, const std::string& why) {
  for (const auto& id : snapshot_ids) {
    AuditEntry e;
    e.command = "expire";
    e.what = ledger_what(id);
    e.result = "OK";
    e.details = why;
    append_audit(repo, e);
  }
}

std::vector<RecordedSnapshot> vanished_snapshots(const Repository& repo, const AuditLog& log,
                                                 const std::set<std::string>& present) {
  std::vector<RecordedSnapshot> missing;
  for (auto& r : recorded_snapshots(log.entries))
    if (!present.count(r.id)) missing.push_back(std::move(r));
  if (missing.empty()) return missing;
  // An expire may have recorded and removed snapshots after the log was read.
  const std::uint64_t read_up_to = log.entries.empty() ? 0 : log.entries.back().seq;
  std::set<std::string> expired_since;
  for (std::uint64_t seq : list_audit_seqs(repo)) {
    if (seq <= read_up_to) continue;
    try {
      if (auto e = read_audit_entry(repo, seq); e && records_expiry(*e)) expired_since.insert(snapshot_of(*e));
    } catch (const Error&) {
      // A damaged newer entry is the audit chain's finding, not this one's.
    }
  }
  std::vector<RecordedSnapshot> out;
  for (auto& r : missing)
    if (!expired_since.count(r.id) && !info_exists(repo, r.id)) out.push_back(std::move(r));
  return out;
}

std::optional<RecordedSnapshot> newest_recorded_if_missing(const Repository& repo, const std::set<std::string>& present) {
  const std::vector<std::uint64_t> seqs = list_audit_seqs(repo);
  std::set<std::string> expired;
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
    std::optional<AuditEntry> e;
    try {
      e = read_audit_entry(repo, *it);
    } catch (const Error&) {
      continue;  // verify names a damaged entry; here it only costs the look further back
    }
    if (!e) continue;
    if (records_expiry(*e)) {
      expired.insert(snapshot_of(*e));
    } else if (records_backup(*e)) {
      const std::string id = snapshot_of(*e);
      if (expired.count(id)) continue;
      if (present.count(id) || info_exists(repo, id)) return std::nullopt;
      return RecordedSnapshot{id, e->seq, e->time};
    }
  }
  return std::nullopt;
}

}  // namespace pgdr::repo
