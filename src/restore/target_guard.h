// What a restore checks before it writes anything, so that it never destroys what it was not
// asked to replace: no directory it would write (the target, each tablespace location) belongs to
// a running cluster, with or without --delta; and a --delta target holds nothing but the snapshot's
// own cluster. Refusals throw Error(io) as one line naming the directory and the reason, with a
// HINT. See docs/commands/restore.md, "Safety checks".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "restore/live_clusters.h"

namespace pgdr::restore {

// Throws when target (resolved) meets a running cluster: it is, lies in or holds one's data
// directory or tablespace location.
void refuse_live_target(const std::vector<LiveCluster>& live, const std::string& target);
// The same for the location (resolved) that tablespace oid is restored to.
void refuse_live_location(const std::vector<LiveCluster>& live, const std::string& oid, const std::string& location);

// The system identifier at the start of data_dir/global/pg_control (the first member of
// ControlFileData in every major, 8 bytes in the machine's order), as decimal text; nullopt when
// the file is missing or shorter.
std::optional<std::string> control_system_identifier(const std::string& data_dir);

// Why --delta may not bring target in line for a snapshot of system_identifier, or nullopt when it
// may: target is empty (but for the restore lock), holds an unfinished restore of that system
// (unfinished_system_identifier, from the lock), or is a PostgreSQL data directory (PG_VERSION and
// global/pg_control) of that system.
std::optional<std::string> delta_refusal(const std::string& target, const std::string& system_identifier,
                                         const std::string& unfinished_system_identifier);

// Whether dir holds nothing but the restore lock file.
bool empty_but_lock(const std::string& dir);

}  // namespace pgdr::restore
