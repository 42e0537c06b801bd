#include "backup/read_plan.h"

#include <charconv>

#include "pg/page.h"

namespace pgdr::backup {

namespace {

// Unchanged blocks between two changed ones that are read anyway (32 KiB at 8 KiB blocks).
constexpr std::uint64_t kGapReadThrough = 4;

std::optional<std::uint32_t> oid_of(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 0xffffffffULL) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    std::size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

// "16384", "16384_vm", "16384.3", "16384_fsm.1" -> relation number, fork, segment.
bool parse_file_name(std::string_view name, RelationFile& out) {
  std::size_t dot = name.find('.');
  if (dot != std::string_view::npos) {
    auto seg = oid_of(name.substr(dot + 1));
    if (!seg) return false;
    out.segment = *seg;
    name = name.substr(0, dot);
  }
  std::size_t us = name.find('_');
  out.fork.fork = pg::ForkNumber::main;
  if (us != std::string_view::npos) {
    std::string_view f = name.substr(us + 1);
    if (f == "fsm") out.fork.fork = pg::ForkNumber::fsm;
    else if (f == "vm") out.fork.fork = pg::ForkNumber::visibility_map;
    else if (f == "init") out.fork.fork = pg::ForkNumber::init;
    else return false;
    name = name.substr(0, us);
  }
  auto rel = oid_of(name);
  if (!rel) return false;
  out.fork.rel.rel_number = *rel;
  return true;
}

}  // namespace

std::optional<RelationFile> relation_file_of(const std::string& manifest_path) {
  auto parts = split(manifest_path);
  RelationFile f;
  std::string_view name;
  if (parts.size() == 3 && parts[0] == "base") {
    auto db = oid_of(parts[1]);
    if (!db) return std::nullopt;
    f.fork.rel.spc_oid = pg::kDefaultTablespaceOid;
    f.fork.rel.db_oid = *db;
    name = parts[2];
  } else if (parts.size() == 2 && parts[0] == "global") {
    f.fork.rel.spc_oid = pg::kGlobalTablespaceOid;
    f.fork.rel.db_oid = 0;
    name = parts[1];
  } else if (parts.size() == 5 && parts[0] == "pg_tblspc" && parts[2].starts_with("PG_")) {
    auto spc = oid_of(parts[1]);
    auto db = oid_of(parts[3]);
    if (!spc || !db) return std::nullopt;
    f.fork.rel.spc_oid = *spc;
    f.fork.rel.db_oid = *db;
    name = parts[4];
  } else {
    return std::nullopt;
  }
  if (!parse_file_name(name, f)) return std::nullopt;
  return f;
}

ReadPlan plan_read(const pg::ChangeMap& map, const std::string& manifest_path, std::uint64_t size_bytes,
                   std::optional<std::uint64_t> previous_size, std::uint32_t block_bytes) {
  ReadPlan whole;
  if (!previous_size || *previous_size > size_bytes) return whole;
  if (block_bytes % pg::kPageBytes != 0 || size_bytes % block_bytes != 0 || *previous_size % block_bytes != 0)
    return whole;
  auto rf = relation_file_of(manifest_path);
  if (!rf) return whole;
  // Only main forks: the free space map is not fully WAL-logged, an init fork is copied whole
  // anyway, and replay clears visibility map bits for heap records that do not reference the map
  // page (XLH_*_ALL_VISIBLE_CLEARED), so no block reference names that change. Both maps are
  // small: 8 KiB of visibility map covers 256 MiB of heap.
  if (rf->fork.fork != pg::ForkNumber::main) return whole;
  if (map.database_changed({rf->fork.rel.spc_oid, rf->fork.rel.db_oid})) return whole;
  const std::uint64_t first_page = std::uint64_t{rf->segment} * pg::kBlocksPerSegment;
  const std::uint64_t pages = size_bytes / pg::kPageBytes;
  if (first_page + pages > 0xffffffffULL) return whole;
  if (auto limit = map.limit(rf->fork); limit && *limit < first_page + pages) return whole;

  ReadPlan plan;
  plan.whole = false;
  plan.file_blocks = size_bytes / block_bytes;
  const std::uint64_t pages_per_block = block_bytes / pg::kPageBytes;
  const std::uint64_t previous_blocks = *previous_size / block_bytes;
  std::vector<std::uint32_t> changed;
  map.blocks_in(rf->fork, static_cast<std::uint32_t>(first_page), static_cast<std::uint32_t>(first_page + pages),
                changed);
  for (std::uint32_t page : changed) {
    std::uint64_t b = (page - first_page) / pages_per_block;
    if (b >= previous_blocks) break;
    if (plan.blocks.empty() || plan.blocks.back() != b) plan.blocks.push_back(b);
  }
  // Blocks past the previous end were added since: the map need not name them (an extension
  // writes no WAL until the page is first used).
  for (std::uint64_t b = previous_blocks; b < size_bytes / block_bytes; ++b) plan.blocks.push_back(b);
  // Reading is cheaper in long runs than in many short ones: a gap of a few blocks is read
  // through (a block read is always safe), and a file mostly changed is read whole, in order.
  if (plan.blocks.size() * 2 > plan.file_blocks) return whole;
  std::vector<std::uint64_t> runs;
  for (std::uint64_t b : plan.blocks) {
    if (!runs.empty() && b > runs.back() + 1 && b - runs.back() - 1 <= kGapReadThrough)
      for (std::uint64_t g = runs.back() + 1; g < b; ++g) runs.push_back(g);
    runs.push_back(b);
  }
  plan.blocks = std::move(runs);
  return plan;
}

}  // namespace pgdr::backup
