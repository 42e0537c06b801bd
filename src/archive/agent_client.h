// The client side of the archive agent (archive/archive_agent.h), as archive-push and archive-get
// use it: send the request, wait for the agent to finish the work, hand back its result. Every way
// the agent can fail to answer (none configured, none running, killed mid-request, a socket of
// another user or open to others, another configuration) returns nullopt, and the caller then does
// the work itself exactly as without an agent. An error the agent met doing the work (a refused
// segment, an unreachable repository) is thrown here as it would have been thrown in this process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "archive/archive_get.h"
#include "archive/archive_push.h"
#include "config/config.h"

namespace pgdr::archive {

// path as PostgreSQL gives it (relative to the working directory, the data directory).
std::optional<std::vector<PushResult>> push_through_agent(const Config& cfg, const std::string& path, int parallel);

std::optional<GetResult> get_through_agent(const Config& cfg, const std::string& wal_name, const std::string& dest,
                                           const GetOptions& opt);

}  // namespace pgdr::archive
