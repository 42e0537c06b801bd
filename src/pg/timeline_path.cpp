#include "pg/timeline_path.h"

namespace pgdr::pg {

namespace {

// One timeline of a history: where it began and, but for the newest, where its child took over.
struct Span {
  std::uint32_t timeline = 0;
  Lsn begin;
  std::optional<Lsn> end;
};

std::string tli_text(std::uint32_t timeline) { return "timeline " + std::to_string(timeline); }

}  // namespace

TimelinePath find_timeline_path(const TimelinePoint& from, const TimelinePoint& to, const TimelineHistory& history) {
  auto none = [](std::string why) { return TimelinePath{std::nullopt, std::move(why)}; };
  if (!history.problem.empty())
    return none("the history file of " + tli_text(to.timeline) + " is unusable (" + history.problem + ")");
  if (to.lsn < from.lsn)
    return none("LSN " + to_string(to.lsn) + " on " + tli_text(to.timeline) + " is before LSN " + to_string(from.lsn) +
                " on " + tli_text(from.timeline));

  std::vector<Span> spans;
  Lsn begin{0};
  for (const TimelineSwitch& s : history.switches) {
    // readTimeLineHistory does not check this either; a history whose switch points go back
    // would make ranges that overlap or run backwards.
    if (s.at < begin)
      return none("the history file of " + tli_text(to.timeline) + " has " + tli_text(s.parent) + " ending at " +
                  to_string(s.at) + ", before it began at " + to_string(begin));
    spans.push_back({s.parent, begin, s.at});
    begin = s.at;
  }
  spans.push_back({to.timeline, begin, std::nullopt});

  std::size_t first = 0;
  while (first < spans.size() && spans[first].timeline != from.timeline) ++first;
  if (first == spans.size())
    return none(tli_text(from.timeline) + " is not " + tli_text(to.timeline) + " or one of its ancestors");
  const Span& origin = spans[first];
  if (from.lsn < origin.begin)
    return none("LSN " + to_string(from.lsn) + " is before " + tli_text(from.timeline) + " began at " +
                to_string(origin.begin));
  if (origin.end && *origin.end < from.lsn)
    return none(tli_text(to.timeline) + " branched off " + tli_text(from.timeline) + " at " + to_string(*origin.end) +
                ", before LSN " + to_string(from.lsn));
  if (to.lsn < spans.back().begin)
    return none("LSN " + to_string(to.lsn) + " is before " + tli_text(to.timeline) + " began at " +
                to_string(spans.back().begin));

  std::vector<TimelineRange> ranges;
  for (std::size_t i = first; i < spans.size(); ++i) {
    const Lsn b = i == first ? from.lsn : spans[i].begin;
    const Lsn e = i + 1 == spans.size() ? to.lsn : *spans[i].end;
    if (b < e) ranges.push_back({spans[i].timeline, b, e});
  }
  return TimelinePath{std::move(ranges), {}};
}

}  // namespace pgdr::pg
