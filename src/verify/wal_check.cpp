// The WAL continuity check. The newest timeline's history file names its ancestors and where each
// one ended; from the segment after the oldest snapshot's last one every segment must be archived
// (a snapshot carries the WAL from its start to its stop itself, and restore reads the archive from
// the segment after it, restore/snapshot_choice.cpp): on each
// ancestor up to the segment before its switch point (the switch segment itself is copied to the
// child timeline, and the old timeline's copy may exist only as a .partial file), on the newest
// timeline up to the newest archived segment. Holes inside any other timeline are reported too.
// Segments before the first archived one are not holes: archiving began there, after the snapshots
// taken before it (README's order: a snapshot, then archiving). Such a snapshot restores to its own
// end, not beyond: that is information in the summary and details, and a warning only when no
// snapshot at all reaches the archive.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "core/error.h"
#include "pg/lsn.h"
#include "pg/timeline_history.h"
#include "repo/wal_archive.h"
#include "repo/wal_summary.h"
#include "verify/checks.h"

namespace pgdr::verify {

namespace {

std::string timeline_hex(std::uint32_t tli) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08X", tli);
  return buf;
}

// Opens every block summary: a damaged one is a warning, since the change map rebuilds it from its
// segment (which the checksums check covers), so nothing is lost with it.
struct SummaryCount {
  std::size_t read = 0;
  std::size_t damaged = 0;
};
SummaryCount check_summaries(const repo::Repository& repo, std::vector<Finding>& findings) {
  SummaryCount n;
  for (const auto& [segment, object] : repo::list_summaries(repo.store())) {
    try {
      if (repo::read_segment_summary(repo, segment)) ++n.read;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
      ++n.damaged;
      findings.push_back({"warning", std::string(e.what()) + ": it is rebuilt from its segment when needed"});
    }
  }
  return n;
}

}  // namespace

CheckResult check_wal(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                      const std::vector<std::string>& damaged_wal) {
  CheckResult r;
  r.name = "wal_continuity";
  std::uint64_t seg_bytes = pg::kDefaultWalSegmentBytes;
  for (const auto& s : snaps)
    if (s.wal_segment_bytes) seg_bytes = s.wal_segment_bytes;
  auto wal = repo::list_wal(repo, seg_bytes);
  nlohmann::json gaps = nlohmann::json::array();
  nlohmann::json timelines = nlohmann::json::array();
  auto add_gap = [&](std::uint32_t tli, std::uint64_t from, std::uint64_t to, const std::string& why) {
    std::string first = pg::segment_file_name(tli, from, seg_bytes), last = pg::segment_file_name(tli, to, seg_bytes);
    gaps.push_back({{"timeline", tli}, {"first_missing", first}, {"last_missing", last}, {"segments", to - from + 1},
                    {"reason", why}});
    r.findings.push_back({"critical", "WAL gap on timeline " + std::to_string(tli) + ": " + first +
                                          (from == to ? "" : " .. " + last) + " missing (" +
                                          std::to_string(to - from + 1) + " segment" + (to == from ? "" : "s") + ", " +
                                          why + ")"});
  };
  for (const auto& name : damaged_wal)
    r.findings.push_back({"critical", "WAL file " + name + " is archived but damaged (see the checksums check)"});
  SummaryCount summaries = check_summaries(repo, r.findings);

  if (snaps.empty() && wal.segments.empty()) {
    r.status = std::nullopt;
    r.summary = "no snapshot and no archived WAL";
    return r;
  }
  if (wal.segments.empty()) {
    r.status = CheckStatus::warn;
    r.summary = "no WAL archived: each snapshot restores only to its own end";
    r.findings.push_back({"warning", "the WAL archive of repository '" + repo.name() +
                                         "' is empty: point-in-time recovery past a snapshot's end is impossible"});
    r.details = {{"segment_bytes", seg_bytes}, {"timelines", timelines}, {"gaps", gaps}};
    return r;
  }

  // The newest timeline and its ancestry.
  std::uint32_t newest = wal.segments.rbegin()->first;
  std::set<std::string> history(wal.history_files.begin(), wal.history_files.end());
  for (const auto& h : history) newest = std::max<std::uint32_t>(newest, static_cast<std::uint32_t>(std::stoul(h.substr(0, 8), nullptr, 16)));
  std::vector<pg::TimelineSwitch> ancestry;  // oldest first
  if (newest > 1) {
    std::string hname = timeline_hex(newest) + ".history";
    try {
      auto content = repo::fetch_wal_file(repo, hname);
      if (!content) {
        r.findings.push_back({"critical", "history file " + hname + " of the newest timeline " + std::to_string(newest) +
                                              " is not archived: its ancestry cannot be followed"});
      } else {
        ancestry = pg::parse_timeline_history(as_chars(*content), newest).switches;
      }
    } catch (const Error& e) {
      r.findings.push_back({"critical", e.what()});
    }
  }

  // Where the required range starts: the segment after the oldest snapshot's last.
  std::optional<pg::SegmentName> start;
  const repo::SnapshotInfo* oldest = nullptr;
  for (const auto& s : snaps)
    if (!oldest || s.id < oldest->id) oldest = &s;
  if (oldest) {
    start = pg::parse_segment_file_name(oldest->last_wal_segment, seg_bytes);
    if (!start) start = pg::parse_segment_file_name(oldest->first_wal_segment, seg_bytes);
    else ++start->segno;
  }
  // Archiving began after the start: the first archived segment of the start's timeline, when it
  // lies beyond the start.
  std::optional<std::uint64_t> archive_began;
  if (start)
    if (auto it = wal.segments.find(start->timeline); it != wal.segments.end() && it->second.front() > start->segno)
      archive_began = it->second.front();

  // Required ranges per timeline on the chain: [from, to] inclusive.
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> required;
  {
    std::vector<std::pair<std::uint32_t, std::optional<pg::Lsn>>> chain;  // timeline, where it ended
    for (const auto& sw : ancestry) chain.push_back({sw.parent, sw.at});
    chain.push_back({newest, std::nullopt});
    std::optional<std::uint64_t> begin;  // segment where this timeline starts being required
    for (std::size_t i = 0; i < chain.size(); ++i) {
      auto [tli, end_lsn] = chain[i];
      if (start && start->timeline == tli) begin = archive_began ? *archive_began : start->segno;
      if (!begin && start && start->timeline < tli && i > 0 && chain[i - 1].second)
        begin = pg::segment_number(*chain[i - 1].second, seg_bytes);
      if (!start && !begin) {
        auto it = wal.segments.find(tli);
        if (it != wal.segments.end()) begin = it->second.front();
      }
      std::optional<std::uint64_t> end;
      if (end_lsn) {
        std::uint64_t sw = pg::segment_number(*end_lsn, seg_bytes);
        if (sw > 0) end = sw - 1;
      } else if (auto it = wal.segments.find(tli); it != wal.segments.end()) {
        end = it->second.back();
      }
      if (begin && end && *end >= *begin) required[tli] = {*begin, *end};
      if (i + 1 < chain.size() && end_lsn) begin = pg::segment_number(*end_lsn, seg_bytes);
    }
  }

  std::uint64_t missing_total = 0;
  for (const auto& [tli, range] : required) {
    std::set<std::uint64_t> have;
    if (auto it = wal.segments.find(tli); it != wal.segments.end()) have.insert(it->second.begin(), it->second.end());
    std::optional<std::uint64_t> run_start;
    for (std::uint64_t s = range.first; s <= range.second + 1; ++s) {
      bool missing = s <= range.second && !have.count(s);
      if (missing && !run_start) run_start = s;
      if (!missing && run_start) {
        add_gap(tli, *run_start, s - 1,
                *run_start == range.first && oldest && oldest->timeline == tli
                    ? "needed from snapshot " + oldest->id + " on"
                    : "between archived segments");
        missing_total += s - *run_start;
        run_start.reset();
      }
    }
    timelines.push_back({{"timeline", tli},
                         {"first_required", pg::segment_file_name(tli, range.first, seg_bytes)},
                         {"last_required", pg::segment_file_name(tli, range.second, seg_bytes)},
                         {"archived", have.size()}});
  }
  // Timelines off the chain (abandoned branches): holes between their own segments.
  for (const auto& g : repo::find_gaps(wal, seg_bytes)) {
    if (required.count(g.timeline)) continue;
    gaps.push_back({{"timeline", g.timeline}, {"first_missing", g.first_missing}, {"last_missing", g.last_missing},
                    {"reason", "between archived segments of a timeline off the current history"}});
    r.findings.push_back({"critical", "WAL gap on timeline " + std::to_string(g.timeline) + ": " + g.first_missing +
                                          " .. " + g.last_missing + " missing"});
  }
  // Snapshots that end before archiving began, with segments never archived in between: each
  // restores to its own end only. The newer ones reach the archive.
  nlohmann::json before_archiving = nlohmann::json::array();
  std::size_t reaching = 0;
  for (const auto& s : snaps) {
    auto last = pg::parse_segment_file_name(s.last_wal_segment, seg_bytes);
    if (archive_began && last && last->timeline == start->timeline && last->segno + 1 < *archive_began)
      before_archiving.push_back(s.id);
    else
      ++reaching;
  }
  r.details = {{"segment_bytes", seg_bytes},
               {"newest_timeline", newest},
               {"oldest_snapshot", oldest ? oldest->id : ""},
               {"timelines", timelines},
               {"gaps", gaps},
               {"damaged_segments", damaged_wal},
               {"summaries", summaries.read},
               {"damaged_summaries", summaries.damaged},
               {"archive_began", archive_began ? pg::segment_file_name(start->timeline, *archive_began, seg_bytes) : ""},
               {"snapshots_before_archiving", before_archiving}};
  std::string before_text;
  if (!before_archiving.empty()) {
    before_text = std::to_string(before_archiving.size()) + " snapshot" + (before_archiving.size() == 1 ? "" : "s") +
                  " taken before archiving began with " +
                  pg::segment_file_name(start->timeline, *archive_began, seg_bytes) + " restore" +
                  (before_archiving.size() == 1 ? "s" : "") + " to " + (before_archiving.size() == 1 ? "its" : "their") +
                  " own end only";
    if (reaching == 0)
      r.findings.push_back({"warning", "no snapshot in repository '" + repo.name() + "' reaches the archived WAL (" +
                                           before_text + "): point-in-time recovery begins with the next snapshot"});
  }
  bool critical = std::any_of(r.findings.begin(), r.findings.end(), [](const Finding& f) { return f.severity == "critical"; });
  r.status = critical ? CheckStatus::fail : r.findings.empty() ? CheckStatus::pass : CheckStatus::warn;
  std::size_t segs = 0;
  for (const auto& [t, s] : wal.segments) segs += s.size();
  if (r.status != CheckStatus::fail) {
    auto last = wal.segments.rbegin();
    std::string from = !start ? "the first segment"
                       : archive_began ? pg::segment_file_name(start->timeline, *archive_began, seg_bytes)
                                       : pg::segment_file_name(start->timeline, start->segno, seg_bytes);
    r.summary = "continuous from " + from + " to " + pg::segment_file_name(last->first, last->second.back(), seg_bytes) +
                " (" + std::to_string(segs) + " segments, " + std::to_string(wal.segments.size()) + " timeline" +
                (wal.segments.size() == 1 ? "" : "s") + ")";
    if (!before_text.empty()) r.summary += "; " + before_text;
    if (summaries.damaged)
      r.summary += ", " + std::to_string(summaries.damaged) + " damaged block summar" +
                   (summaries.damaged == 1 ? "y" : "ies");
  } else {
    r.summary = std::to_string(gaps.size()) + " gap" + (gaps.size() == 1 ? "" : "s") + " (" +
                std::to_string(missing_total) + " segments missing), " + std::to_string(damaged_wal.size()) +
                " damaged";
  }
  return r;
}

}  // namespace pgdr::verify
