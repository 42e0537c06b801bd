#include "backup/change_source.h"

#include <algorithm>

#include <cstdio>

#include "backup/archive_changes.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/file.h"
#include "pg/server_summaries.h"
#include "pg/timeline_path.h"
#include "pg/version.h"

namespace pgdr::backup {

std::optional<std::string> full_read_reason(const ChangeQuery& q) {
  if (q.force_full_read) return "--full-read";
  for (std::size_t i = 0; i < q.previous.size(); ++i)
    if (!q.previous[i])
      return "no previous snapshot of this cluster in repository '" + q.repos.at(i)->name() + "'";
  if (q.full_read_every.count() > 0) {
    if (!q.last_full_read) return "no snapshot read the whole data directory yet";
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(q.now - *q.last_full_read);
    if (age >= q.full_read_every)
      return "the last full read was " + format_duration(age) + " ago ([backup] full_read_every = " +
             format_duration(q.full_read_every) + ")";
  }
  for (const auto& p : q.previous) {
    if (std::to_string(q.system_identifier) != p->system_identifier)
      return "the previous snapshot " + p->id + " is of another system identifier";
    auto lsn = pg::parse_lsn(p->start_lsn);
    if (!lsn || *lsn > q.start_lsn) return "the previous snapshot " + p->id + " starts after this one";
  }
  return std::nullopt;
}

namespace {

// The previous snapshot the map must start from: the oldest over the targets.
const repo::SnapshotInfo& oldest_previous(const ChangeQuery& q) {
  const repo::SnapshotInfo* oldest = nullptr;
  for (const auto& p : q.previous)
    if (!oldest || pg::parse_lsn(p->start_lsn) < pg::parse_lsn(oldest->start_lsn)) oldest = &*p;
  return *oldest;
}

// The new timeline's history, from the data directory's pg_wal where PostgreSQL keeps it.
pg::TimelineHistory history_of(const ChangeQuery& q) {
  if (q.timeline <= 1) return {};
  char name[32];
  std::snprintf(name, sizeof name, "%08X.history", q.timeline);
  auto text = read_file(q.pgdata + "/pg_wal/" + name);
  if (!text) {
    pg::TimelineHistory h;
    h.problem = std::string("no history file ") + name + " in " + q.pgdata + "/pg_wal";
    return h;
  }
  return pg::parse_timeline_history(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()),
                                    q.timeline);
}

}  // namespace

Changes find_changes(pg::Connection& conn, const ChangeQuery& q) {
  Changes c;
  if (auto why = full_read_reason(q)) {
    c.reason = *why;
    return c;
  }
  const repo::SnapshotInfo& prev = oldest_previous(q);
  pg::TimelinePath path = pg::find_timeline_path({prev.timeline, *pg::parse_lsn(prev.start_lsn)},
                                                 {q.timeline, q.start_lsn}, history_of(q));
  if (!path.ranges) {
    c.reason = "no WAL path from snapshot " + prev.id + ": " + path.reason;
    return c;
  }
  std::vector<std::string> tried;
  if (pg::has_wal_summaries(q.major)) {
    pg::ServerSummariesRequest req;
    req.path = *path.ranges;
    req.data_directory = q.pgdata;
    req.timeout = q.summaries_wait;
    try {
      pg::ServerSummaries s = pg::read_server_summaries(conn, req);
      if (s.map) {
        c.source = kWalSummaries;
        c.map = std::move(s.map);
        return c;
      }
      tried.push_back("WAL summaries: " + s.reason);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::interrupted) throw;
      tried.push_back(std::string("WAL summaries: ") + e.what());
    }
  }
  for (auto* r : q.repos) {
    backup::ArchiveChangesRequest req;
    req.repo = r;
    req.system_identifier = q.system_identifier;
    req.segment_bytes = q.segment_bytes;
    for (const auto& range : *path.ranges) req.path.push_back({range.timeline, range.begin, range.end});
    req.data_directory = q.pgdata;
    try {
      ArchiveChanges a = archive_changes(req);
      if (a.map) {
        c.source = kWalArchive;
        c.map = std::move(a.map);
        return c;
      }
      tried.push_back("WAL archive of repository '" + r->name() + "': " + a.reason);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::interrupted) throw;
      tried.push_back("WAL archive of repository '" + r->name() + "': " + e.what());
    }
  }
  for (const auto& t : tried) c.reason += (c.reason.empty() ? "" : "; ") + t;
  return c;
}

}  // namespace pgdr::backup
