// What `pgdr daemon` writes in the catalog about its jobs' tasks, so that every result is in one
// history (`pgdr history`, /reports/ID, the metrics):
//  - the action commands (backup, expire), which record nothing themselves: the result, the exit
//    code, the snapshot id of a backup, the end of the output;
//  - a verify of a repository that could not run at all (exit 3: the repository unreachable, say;
//    or killed): a verify report of its own that FAILs (verify::could_not_run), since a repository
//    that cannot be verified must not go unnoticed behind the others.
// The check commands that ran record their own reports.
#pragma once

#include <string>

#include "config/config.h"
#include "daemon/job_round.h"

namespace pgdr::daemon {

// Throws Error(io) when the catalog cannot be written.
void record_action_run(const Config& config, const std::string& job, const TaskRun& run);
void record_unverified(const Config& config, const TaskRun& run);

}  // namespace pgdr::daemon
