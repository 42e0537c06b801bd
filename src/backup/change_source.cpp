#include "backup/change_source.h"

#include <algorithm>

#include "core/duration.h"
#include "core/error.h"

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

Changes find_changes(pg::Connection& conn, const ChangeQuery& q) {
  (void)conn;
  Changes c;
  if (auto why = full_read_reason(q)) {
    c.reason = *why;
    return c;
  }
  c.reason = "no change map source";
  return c;
}

}  // namespace pgdr::backup
