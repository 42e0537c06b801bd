// The way WAL went from one point of a cluster's history to a later one: the (timeline, begin,
// end) ranges a server's WAL passed through from the previous snapshot's start to the new one's,
// read from the new timeline's history file. A change map between two snapshots must cover every
// range; a WAL summary or segment of another timeline at the same LSNs says nothing about them.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/lsn.h"
#include "pg/timeline_history.h"

namespace pgdr::pg {

struct TimelinePoint {
  std::uint32_t timeline = 0;
  Lsn lsn;
};

// WAL of one timeline from begin (included) to end (excluded).
struct TimelineRange {
  std::uint32_t timeline = 0;
  Lsn begin;
  Lsn end;
  bool operator==(const TimelineRange&) const = default;
};

struct TimelinePath {
  // Oldest first, each ending where the next begins; no empty range (from == to gives none).
  // nullopt when WAL cannot lead from one point to the other.
  std::optional<std::vector<TimelineRange>> ranges;
  // Why ranges is nullopt, one line; empty otherwise.
  std::string reason;
};

// The ranges from `from` to `to`. history is that of to.timeline (its parents and where each
// ended; empty for timeline 1). nullopt with its reason when the history has a problem, from's
// timeline is not to's or one of its ancestors, to's history left from's timeline before from's
// LSN, a point lies before its timeline began, or to's LSN is before from's.
TimelinePath find_timeline_path(const TimelinePoint& from, const TimelinePoint& to, const TimelineHistory& history);

}  // namespace pgdr::pg
