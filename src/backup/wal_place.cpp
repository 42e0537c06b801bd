#include "backup/wal_place.h"

#include <sstream>

#include "core/error.h"

namespace pgdr::backup {

namespace {

pg::Lsn lsn_or_throw(const std::string& text, const char* what) {
  auto lsn = pg::parse_lsn(text);
  if (!lsn) throw Error(ErrorKind::postgres, std::string("the backup ") + what + " returned an unreadable LSN: " + text);
  return *lsn;
}

std::uint32_t timeline_of_file(const std::string& walfile) {
  return static_cast<std::uint32_t>(std::stoul(walfile.substr(0, 8), nullptr, 16));
}

std::uint32_t timeline_query(pg::Connection& conn, const std::string& sql) {
  std::string text = conn.query(sql).scalar();
  try {
    return static_cast<std::uint32_t>(std::stoul(text));
  } catch (const std::exception&) {
    throw Error(ErrorKind::postgres, "unreadable timeline '" + text + "' from " + conn.describe());
  }
}

Error timeline_switched(pg::Connection& conn, std::uint32_t from, std::uint32_t to) {
  return Error(ErrorKind::postgres,
               "the standby at " + conn.describe() + " switched from timeline " + std::to_string(from) + " to " +
                   std::to_string(to) + " during the backup",
               "take the snapshot again");
}

}  // namespace

std::string wal_file_of(pg::Lsn lsn, std::uint32_t timeline, std::uint64_t segment_bytes) {
  pg::Lsn holder{lsn.value == 0 ? 0 : lsn.value - 1};
  return pg::segment_file_name(timeline, pg::segment_number(holder, segment_bytes), segment_bytes);
}

WalPlace wal_place_at_start(pg::Connection& conn, const std::string& start_lsn, bool standby,
                            std::uint64_t segment_bytes) {
  pg::Lsn lsn = lsn_or_throw(start_lsn, "start");
  WalPlace p;
  if (!standby) {
    p.file = conn.query("SELECT pg_walfile_name($1)", {start_lsn}).scalar();
    p.timeline = timeline_of_file(p.file);
    return p;
  }
  p.timeline = timeline_query(conn, "SELECT timeline_id::text FROM pg_control_checkpoint()");
  p.file = wal_file_of(lsn, p.timeline, segment_bytes);
  return p;
}

WalPlace wal_place_at_stop(pg::Connection& conn, const std::string& stop_lsn, const std::string& label, bool standby,
                           std::uint32_t start_timeline, std::uint64_t segment_bytes) {
  pg::Lsn lsn = lsn_or_throw(stop_lsn, "stop");
  WalPlace p;
  if (!standby) {
    p.file = conn.query("SELECT pg_walfile_name($1)", {stop_lsn}).scalar();
    p.timeline = timeline_of_file(p.file);
    return p;
  }
  // The label is the authority on where the backup started; the control data on where replay was.
  if (auto started = label_start_timeline(label); started && *started != start_timeline)
    throw timeline_switched(conn, start_timeline, *started);
  p.timeline = timeline_query(conn, "SELECT min_recovery_end_timeline::text FROM pg_control_recovery()");
  if (p.timeline != start_timeline) throw timeline_switched(conn, start_timeline, p.timeline);
  p.file = wal_file_of(lsn, p.timeline, segment_bytes);
  return p;
}

std::optional<std::uint32_t> label_start_timeline(const std::string& label) {
  std::istringstream in(label);
  constexpr std::string_view kKey = "START TIMELINE: ";
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(kKey)) continue;
    try {
      return static_cast<std::uint32_t>(std::stoul(line.substr(kKey.size())));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace pgdr::backup
