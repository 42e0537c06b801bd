#include "repo/wal_file_check.h"

#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "pg/control_file.h"
#include "pg/lsn.h"
#include "pg/timeline_history.h"
#include "pg/wal_reader.h"
#include "repo/snapshot_info.h"
#include "repo/wal_stream_objects.h"

namespace pgdr::repo {

namespace {

// Far beyond any real history file (one line per timeline) or backup history file (a dozen lines).
constexpr std::size_t kMaxTextFileBytes = 1u << 20;

std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<std::string> segment_problem(std::string_view name, ByteView head, std::uint64_t size,
                                           const KnownCluster& known) {
  if (size == 0) return std::string("empty file, not a WAL segment");
  if (size < pg::kWalLongPageHeaderBytes)
    return std::to_string(size) + " bytes, too short for a WAL segment";
  // The segment size: what the repository knows, else what the page header says when it is a
  // valid one (checked with the rest of the header below).
  std::uint64_t segment_bytes = known.segment_bytes.value_or(pg::kDefaultWalSegmentBytes);
  if (!known.segment_bytes)
    if (auto h = pg::decode_wal_page_header(head); h && h->long_header && pg::is_valid_wal_segment_size(h->segment_bytes))
      segment_bytes = h->segment_bytes;
  auto seg = pg::parse_segment_file_name(name.substr(0, 24), segment_bytes);
  if (!seg) return "the name is no segment of " + std::to_string(segment_bytes) + "-byte segments";
  if (auto problem = pg::segment_first_page_problem(head, seg->timeline, pg::Lsn{seg->segno * segment_bytes},
                                                    segment_bytes)) {
    if (known.segment_bytes && problem->starts_with("segment size")) *problem += ", " + known.source;
    return problem;
  }
  if (size != segment_bytes)
    return std::to_string(size) + " bytes where a segment has " + std::to_string(segment_bytes) +
           " (truncated or padded)";
  const auto h = *pg::decode_wal_page_header(head);
  if (!known.system_identifiers.empty() && !known.system_identifiers.count(h.system_identifier)) {
    std::string ids;
    for (auto id : known.system_identifiers) ids += (ids.empty() ? "" : " or ") + std::to_string(id);
    return "system identifier " + std::to_string(h.system_identifier) + " where this cluster's is " + ids + ", " +
           known.source + ": WAL of another cluster";
  }
  return std::nullopt;
}

std::optional<std::string> text_problem(ByteView head, std::uint64_t size) {
  if (size == 0) return std::string("empty file");
  if (size > kMaxTextFileBytes) return std::to_string(size) + " bytes, too large for this kind of file";
  if (std::find(head.begin(), head.end(), std::uint8_t{0}) != head.end()) return std::string("not text (holds NUL bytes)");
  return std::nullopt;
}

std::optional<std::string> backup_history_problem(std::string_view name, std::string_view text,
                                                  const KnownCluster& known) {
  // "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)", the first line PostgreSQL
  // writes (do_pg_backup_stop in xlog.c).
  constexpr std::string_view kKey = "START WAL LOCATION: ";
  std::size_t at = text.starts_with(kKey) ? 0 : text.find("\n" + std::string(kKey));
  if (at == std::string_view::npos) return std::string("no START WAL LOCATION line");
  if (text[at] == '\n') ++at;
  std::string_view line = text.substr(at + kKey.size());
  line = line.substr(0, line.find('\n'));
  const std::size_t space = line.find(' ');
  auto lsn = pg::parse_lsn(line.substr(0, space));
  const std::string file = "(file " + std::string(name.substr(0, 24)) + ")";
  if (!lsn || space == std::string_view::npos || line.substr(space + 1) != file)
    return "START WAL LOCATION line is not '<LSN> " + file + "'";
  if (known.segment_bytes) {
    auto offset = std::stoull(std::string(name.substr(25, 8)), nullptr, 16);
    if (lsn->value % *known.segment_bytes != offset)
      return "START WAL LOCATION " + pg::to_string(*lsn) + " is not at the offset its name gives";
  }
  return std::nullopt;
}

}  // namespace

KnownCluster known_cluster(const Repository& repo, const std::string& cluster_name) {
  KnownCluster k;
  const SnapshotInfo* newest = nullptr;
  const std::vector<SnapshotInfo> snaps = list_snapshots(repo.store(), repo.key());
  for (const auto& s : snaps) {
    if (!cluster_name.empty() && s.cluster_name != cluster_name) continue;
    if (auto id = parse_decimal(s.system_identifier)) k.system_identifiers.insert(*id);
    if (!newest || s.id > newest->id) newest = &s;
  }
  if (newest) {
    if (pg::is_valid_wal_segment_size(newest->wal_segment_bytes)) k.segment_bytes = newest->wal_segment_bytes;
    k.source = k.system_identifiers.size() == 1
                   ? "known from snapshot " + newest->id + " in repository '" + repo.name() + "'"
                   : "known from the snapshots in repository '" + repo.name() + "'";
    return k;
  }
  try {
    if (auto status = read_stream_status(repo)) {
      if (auto id = parse_decimal(status->system_identifier)) {
        k.system_identifiers.insert(*id);
        k.source = "known from stream/status in repository '" + repo.name() + "'";
      }
    }
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::corrupt) throw;
  }
  return k;
}

KnownCluster known_for_data_directory(const Repository& repo, const std::string& cluster_name,
                                      const std::string& data_dir) {
  std::uint64_t system_identifier = 0;
  try {
    auto control = pg::read_control_file(data_dir);
    if (!control) return known_cluster(repo, cluster_name);
    system_identifier = control->system_identifier;
  } catch (const Error&) {
    // A damaged pg_control is the server's problem to report; the repository still knows enough.
    return known_cluster(repo, cluster_name);
  }
  KnownCluster k;
  k.system_identifiers.insert(system_identifier);
  k.source = "known from " + data_dir + "/global/pg_control";
  // Otherwise the segment size comes from the segment's own header, which the checks hold to the
  // file's size and the name's position.
  const auto newest = newest_snapshot_of(repo.store(), repo.key(), cluster_name);
  if (newest && newest->system_identifier == std::to_string(system_identifier) &&
      pg::is_valid_wal_segment_size(newest->wal_segment_bytes))
    k.segment_bytes = newest->wal_segment_bytes;
  return k;
}

bool is_other_clusters_wal(std::string_view name, ByteView content, const KnownCluster& known) {
  if (known.system_identifiers.empty() || !wal_file_problem(name, content, known)) return false;
  KnownCluster any = known;
  any.system_identifiers.clear();
  return !wal_file_problem(name, content, any);
}

std::size_t wal_check_prefix_bytes(WalFileKind kind) {
  switch (kind) {
    case WalFileKind::segment:
    case WalFileKind::partial: return pg::kWalPageBytes;
    case WalFileKind::history:
    case WalFileKind::backup_history: return kMaxTextFileBytes;
  }
  return kMaxTextFileBytes;
}

std::optional<std::string> wal_file_problem(std::string_view name, ByteView head, std::uint64_t size_bytes,
                                            const KnownCluster& known) {
  auto kind = classify_wal_file(name);
  if (!kind) return std::string("not a WAL file name");
  head = head.subspan(0, std::min<std::size_t>(head.size(), wal_check_prefix_bytes(*kind)));
  switch (*kind) {
    case WalFileKind::segment:
    case WalFileKind::partial: return segment_problem(name, head, size_bytes, known);
    case WalFileKind::history: {
      if (auto problem = text_problem(head, size_bytes)) return problem;
      auto tli = std::stoul(std::string(name.substr(0, 8)), nullptr, 16);
      auto h = pg::parse_timeline_history(as_chars(head), static_cast<std::uint32_t>(tli));
      if (!h.problem.empty()) return "not a timeline history file (" + h.problem + ")";
      return std::nullopt;
    }
    case WalFileKind::backup_history: {
      if (auto problem = text_problem(head, size_bytes)) return problem;
      if (auto problem = backup_history_problem(name, as_chars(head), known))
        return "not a backup history file (" + *problem + ")";
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace pgdr::repo
