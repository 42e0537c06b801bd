// The recovery settings a restored data directory starts with: restore_command pointing back at
// pgdr (an ArchiveGetCall, rendered here and nowhere else), the recovery target, the action at the
// target, and the signal file that asks for archive recovery (recovery.signal) or a standby
// (standby.signal). Settings that an earlier restore or recovery left in postgresql.auto.conf are
// removed first, so an old target can never apply.
#pragma once

#include <optional>
#include <string>

#include "repo/snapshot_info.h"
#include "restore/archive_get_call.h"

namespace pgdr::restore {

enum class TargetKind { latest, immediate, time, lsn, xid, name };

struct RecoveryTarget {
  TargetKind kind = TargetKind::latest;
  std::string value;                  // as the user wrote it (time, LSN, xid, restore point name)
  std::string action = "pause";       // promote, pause or shutdown (PostgreSQL's own default: pause)
  bool standby = false;
  std::string primary_conninfo;       // standby only, optional
  std::optional<ArchiveGetCall> archive_get;  // restore_command; none: no archive to read
};

// Checks the target's syntax; throws Error(usage) naming the option.
void check_target(const RecoveryTarget& target);

// Whether a snapshot can serve a target: it must end before the target (by stop time or stop LSN)
// so that recovery reaches consistency before the target. Targets by xid or name cannot be placed
// in time without reading WAL; any snapshot qualifies.
bool snapshot_serves(const repo::SnapshotInfo& s, const RecoveryTarget& target);

// Rewrites <data_dir>/postgresql.auto.conf with the settings and creates the signal file, durably.
void write_recovery_settings(const std::string& data_dir, const RecoveryTarget& target, const std::string& snapshot_id);

}  // namespace pgdr::restore
