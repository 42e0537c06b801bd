// Timeline history files ("<timeline, 8 hex>.history"), as PostgreSQL reads them
// (readTimeLineHistory in src/backend/access/transam/timeline.c): text lines
// "<parent timeline>\t<switch LSN>\t<reason>", blank lines and lines starting with '#' ignored,
// parent timelines increasing and below the file's own. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pg/lsn.h"

namespace pgdr::pg {

struct TimelineSwitch {
  std::uint32_t parent = 0;
  Lsn at;  // where the parent timeline ended
};

struct TimelineHistory {
  std::vector<TimelineSwitch> switches;  // oldest first; every line that parsed
  std::string problem;                   // the first thing PostgreSQL would refuse; empty when none
};

// Parses the history file of timeline (the file's own; 0: not checked against it).
TimelineHistory parse_timeline_history(std::string_view text, std::uint32_t timeline);

}  // namespace pgdr::pg
