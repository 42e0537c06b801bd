#include "verify/change_map_check.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>

#include "backup/archive_changes.h"
#include "backup/change_source.h"
#include "backup/read_plan.h"
#include "core/error.h"
#include "pg/lsn.h"
#include "pg/page.h"
#include "pg/timeline_history.h"
#include "pg/timeline_path.h"
#include "pg/wal_reader.h"
#include "repo/wal_archive.h"

namespace pgdr::verify {

namespace {

// Block references are fetched in slices so that a 1 GiB relation segment (131072 blocks of
// 8 KiB) costs 400 KiB at a time, not 6 MiB per snapshot.
constexpr std::uint64_t kSliceBlocks = 8192;
// Files named in the report and in findings (one each), and blocks named per file; the rest are
// counted.
constexpr std::size_t kListedFiles = 100;
constexpr std::size_t kFileFindings = 10;
constexpr std::size_t kListedBlocks = 8;

bool same_block(const repo::BlockRef& a, const repo::BlockRef& b) {
  if (a.is_zero() || b.is_zero()) return a.is_zero() == b.is_zero();
  return a.id == b.id;
}

CheckResult not_checked(CheckResult r, const std::string& why) {
  r.status = std::nullopt;
  r.summary = "not checked: " + why;
  r.details["reason"] = why;
  return r;
}

const repo::SnapshotInfo* find_by_id(const std::vector<repo::SnapshotInfo>& snaps, const std::string& id) {
  for (const auto& s : snaps)
    if (s.id == id) return &s;
  return nullptr;
}

std::string history_name(std::uint32_t timeline) {
  char name[32];
  std::snprintf(name, sizeof name, "%08X.history", timeline);
  return name;
}

// The timeline's history as the WAL archive holds it (timeline 1 has none); a missing or damaged
// file is a problem of the history, which find_timeline_path reports as the reason.
pg::TimelineHistory archived_history(const repo::Repository& repo, std::uint32_t timeline) {
  if (timeline <= 1) return {};
  const std::string name = history_name(timeline);
  pg::TimelineHistory h;
  try {
    auto content = repo::fetch_wal_file(repo, name);
    if (content) return pg::parse_timeline_history(as_chars(*content), timeline);
    h.problem = "history file " + name + " is not archived in " + repo.describe();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::corrupt) throw;
    h.problem = e.what();
  }
  return h;
}

}  // namespace

UnreadComparison compare_unread_blocks(const pg::ChangeMap& map, const repo::ManifestIndex& snapshot,
                                       const repo::ManifestIndex& previous, std::size_t max_listed) {
  const std::uint32_t block_bytes = snapshot.block_bytes();
  if (previous.block_bytes() != block_bytes)
    throw Error(ErrorKind::internal, "compare_unread_blocks over manifests of block sizes " +
                                         std::to_string(block_bytes) + " and " + std::to_string(previous.block_bytes()));
  UnreadComparison out;
  for (const auto& e : snapshot.entries()) {
    if (e.file.type != repo::EntryType::file) continue;
    const repo::ManifestIndex::Entry* p = previous.find(e.file.path);
    std::optional<std::uint64_t> previous_size;
    if (p && p->file.type == repo::EntryType::file) previous_size = p->file.size_bytes;
    backup::ReadPlan plan = backup::plan_read(map, e.file.path, e.file.size_bytes, previous_size, block_bytes);
    if (plan.whole) {
      ++out.files_whole;
      continue;
    }
    ++out.files_by_map;
    out.blocks_planned += plan.blocks.size();
    // plan_read names every block at or past P's end, so the blocks to compare lie below it; a
    // manifest whose block list is shorter than its size says is compared as far as it goes.
    const std::uint64_t end = std::min({plan.file_blocks, e.file.block_count, p->file.block_count});
    std::size_t next = 0;  // into plan.blocks
    MapMiss miss{e.file.path, 0, {}};
    for (std::uint64_t first = 0; first < end; first += kSliceBlocks) {
      const std::uint64_t count = std::min(kSliceBlocks, end - first);
      std::vector<repo::BlockRef> now = snapshot.blocks(e, first, count);
      std::vector<repo::BlockRef> before = previous.blocks(*p, first, count);
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t b = first + i;
        while (next < plan.blocks.size() && plan.blocks[next] < b) ++next;
        if (next < plan.blocks.size() && plan.blocks[next] == b) continue;
        ++out.blocks_compared;
        if (same_block(now[i], before[i])) continue;
        ++miss.blocks;
        if (miss.first.size() < kListedBlocks) miss.first.push_back(b);
      }
    }
    if (miss.blocks == 0) continue;
    out.missed_blocks += miss.blocks;
    ++out.missed_files;
    if (out.listed.size() < max_listed) out.listed.push_back(std::move(miss));
  }
  return out;
}

CheckResult check_change_maps(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                              const std::vector<repo::SnapshotInfo>& all) {
  CheckResult r;
  r.name = "change_maps";

  // S: the newest full read whose previous snapshot is still there.
  const repo::SnapshotInfo* s = nullptr;
  const repo::SnapshotInfo* p = nullptr;
  bool full_read_after_another = false;
  for (auto it = snaps.rbegin(); it != snaps.rend() && !s; ++it) {
    if (it->change_source != backup::kFullRead || it->previous_snapshot.empty()) continue;
    full_read_after_another = true;
    if (const auto* prev = find_by_id(all, it->previous_snapshot)) {
      s = &*it;
      p = prev;
    }
  }
  if (!s)
    return not_checked(r, full_read_after_another
                              ? "no snapshot that read every byte has its previous snapshot in the repository"
                              : "no snapshot read every byte after an earlier one (the first full read has nothing "
                                "to be compared with)");
  r.details["snapshot"] = s->id;
  r.details["previous_snapshot"] = p->id;
  const std::string pair = "snapshot " + s->id + " against " + p->id;
  if (!s->data_checksums)
    return not_checked(r, "snapshot " + s->id + " is of a cluster without data checksums: hint-bit-only page writes "
                          "are not WAL-logged there (unless wal_log_hints is on) and differ legitimately");
  if (!p->data_checksums)
    return not_checked(r, "the previous snapshot " + p->id + " is of the cluster without data checksums (enabled "
                          "since by pg_checksums, which rewrites every page without WAL)");
  if (p->system_identifier != s->system_identifier)
    return not_checked(r, pair + ": the previous snapshot is of another system identifier");
  if (p->block_bytes != s->block_bytes)
    return not_checked(r, pair + ": block sizes differ (" + std::to_string(p->block_bytes) + " and " +
                              std::to_string(s->block_bytes) + " bytes)");
  if (!pg::is_valid_wal_segment_size(s->wal_segment_bytes) || p->wal_segment_bytes != s->wal_segment_bytes)
    return not_checked(r, pair + ": WAL segment sizes differ or are unknown");
  auto from = pg::parse_lsn(p->start_lsn);
  auto to = pg::parse_lsn(s->stop_lsn);
  if (!from || !to) return not_checked(r, pair + ": a start or stop LSN does not read");
  std::uint64_t system_identifier = 0;
  auto [end, ec] = std::from_chars(s->system_identifier.data(), s->system_identifier.data() + s->system_identifier.size(),
                                   system_identifier);
  if (ec != std::errc() || end != s->system_identifier.data() + s->system_identifier.size())
    return not_checked(r, pair + ": the system identifier '" + s->system_identifier + "' does not read");
  r.details["from_lsn"] = p->start_lsn;
  r.details["to_lsn"] = s->stop_lsn;

  pg::TimelinePath path =
      pg::find_timeline_path({p->timeline, *from}, {s->timeline, *to}, archived_history(repo, s->timeline));
  if (!path.ranges) return not_checked(r, "no map: no WAL path from snapshot " + p->id + ": " + path.reason);
  backup::ArchiveChangesRequest req;
  req.repo = &repo;
  req.system_identifier = system_identifier;
  req.segment_bytes = s->wal_segment_bytes;
  req.path = *path.ranges;
  // No data directory: the map comes from the repository alone.
  backup::ArchiveChanges changes = backup::archive_changes(req);
  if (!changes.map) return not_checked(r, "no map: " + changes.reason);
  r.details["map_segments_from_summaries"] = changes.from_summaries;
  r.details["map_segments_rebuilt"] = changes.rebuilt;
  r.details["map_blocks"] = changes.map->block_count();

  // Block ids come from the packs' trailers: a missing or damaged pack stops the comparison, and
  // the checksums check names it.
  UnreadComparison c;
  try {
    repo::ManifestIndex now(repo.store(), s->id, repo.key(), repo.describe());
    repo::ManifestIndex before(repo.store(), p->id, repo.key(), repo.describe());
    c = compare_unread_blocks(*changes.map, now, before, kListedFiles);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::corrupt && e.kind() != ErrorKind::not_found) throw;
    return not_checked(r, pair + ": " + e.what() + " (see the checksums check)");
  }
  r.details["block_bytes"] = s->block_bytes;
  r.details["files_by_map"] = c.files_by_map;
  r.details["files_read_whole"] = c.files_whole;
  r.details["blocks_compared"] = c.blocks_compared;
  r.details["blocks_read_by_map"] = c.blocks_planned;
  r.details["missed_blocks"] = c.missed_blocks;
  r.details["missed_files"] = c.missed_files;
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& m : c.listed) listed.push_back({{"file", m.path}, {"blocks", m.blocks}, {"first_blocks", m.first}});
  r.details["missed"] = listed;

  const std::string counts = std::to_string(c.blocks_compared) + " unread blocks of " +
                             std::to_string(c.files_by_map) + " files compared (" +
                             std::to_string(c.blocks_planned) + " read by the map, " +
                             std::to_string(c.files_whole) + " files read whole)";
  if (c.missed_blocks == 0) {
    r.summary = pair + ": the map of the WAL archive from " + p->start_lsn + " to " + s->stop_lsn +
                " missed no change, " + counts;
    return r;
  }
  r.status = CheckStatus::fail;
  r.summary = pair + ": " + std::to_string(c.missed_blocks) + " changed block" + (c.missed_blocks == 1 ? "" : "s") +
              " of " + std::to_string(c.missed_files) + " file" + (c.missed_files == 1 ? "" : "s") +
              " missed by the map of the WAL archive, " + counts;
  for (std::size_t i = 0; i < c.listed.size() && i < kFileFindings; ++i) {
    const MapMiss& m = c.listed[i];
    std::string blocks;
    for (std::size_t k = 0; k < m.first.size(); ++k) blocks += (k ? ", " : "") + std::to_string(m.first[k]);
    if (m.blocks > m.first.size()) blocks += " and " + std::to_string(m.blocks - m.first.size()) + " more";
    r.findings.push_back({"critical", "change map missed a change: block" + std::string(m.blocks == 1 ? " " : "s ") +
                                          blocks + " of " + m.path + (m.blocks == 1 ? " differs" : " differ") +
                                          " between snapshot " + s->id + " (full read) and its previous snapshot " +
                                          p->id + ", and no WAL block summary from " + p->start_lsn + " to " +
                                          s->stop_lsn + " names " + (m.blocks == 1 ? "it" : "them") +
                                          ": a snapshot by map would have kept the old " +
                                          (m.blocks == 1 ? "block" : "blocks") + " (data loss)"});
  }
  if (c.missed_files > kFileFindings)
    r.findings.push_back({"critical", "change map missed changes in " + std::to_string(c.missed_files - kFileFindings) +
                                          " more files between snapshots " + p->id + " and " + s->id +
                                          " (the report's details list the first " + std::to_string(kListedFiles) +
                                          ")"});
  return r;
}

}  // namespace pgdr::verify
