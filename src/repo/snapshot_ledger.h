// Which snapshots should be in a repository, by the audit log: every snapshot a backup recorded
// (command "backup", what "snapshot <id>", result OK or WARN) and no expire recorded as removed
// (command "expire", what "snapshot <id>"). Expire records each removal before it removes the
// snapshot's info, so a snapshot missing from the repository without such a record was deleted
// by something other than pgdr: verify fails on it and restore of "latest" warns.
//
// What this proves and what it does not is in docs/REPOSITORY_FORMAT.md ("Threat model"): the
// entries are sealed and chained, so they cannot be forged or changed without the key, but the
// newest entries can be deleted together with the snapshots they record.
// Functions may run concurrently with backups and expires (see vanished_snapshots).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "repo/audit_log.h"
#include "repo/repository.h"

namespace pgdr::repo {

struct RecordedSnapshot {
  std::string id;
  std::uint64_t seq = 0;  // the audit entry that recorded its backup
  std::string time;       // when that entry was written
};

// "snapshot <id>" for a backup entry and an expire entry alike.
std::string ledger_what(const std::string& snapshot_id);

// Snapshots recorded as written and not as expired, in the order their backups were recorded.
std::vector<RecordedSnapshot> recorded_snapshots(const std::vector<AuditEntry>& entries);

// Appends one expire entry per snapshot about to be removed. Throws (Error from append_audit) when
// any cannot be written: the caller must then remove nothing, or the removal would later look
// like a deletion.
void record_expired(const Repository& repo, const std::vector<std::string>& snapshot_ids, const std::string& why);

// The snapshots of `log` (read before `present` was listed) that are not present and whose info
// object does not exist either (a damaged info is not a vanished one). Entries appended after the
// log was read are consulted, so that an expire that ran meanwhile is not taken for a deletion.
std::vector<RecordedSnapshot> vanished_snapshots(const Repository& repo, const AuditLog& log,
                                                 const std::set<std::string>& present);

// The newest snapshot the audit log records when it is not present (read from the newest entry
// back, so this costs a few reads, not the whole log); nullopt when it is there, or when the log
// records none.
std::optional<RecordedSnapshot> newest_recorded_if_missing(const Repository& repo, const std::set<std::string>& present);

}  // namespace pgdr::repo
