#include "backup/backup_target.h"

#include <set>

#include "core/log.h"
#include "repo/format.h"

namespace pgdr::backup {

OrphanBlocks load_orphans(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snapshots) {
  std::set<std::string> claimed;
  for (const auto& s : snapshots) claimed.insert(s.packs.begin(), s.packs.end());
  OrphanBlocks o;
  for (const auto& obj : repo.store().list(repo::kPacksDir)) {
    std::string id = obj.path.substr(obj.path.rfind('/') + 1);
    if (claimed.count(id)) continue;
    std::vector<repo::PackEntry> entries;
    try {
      entries = repo::read_pack_trailer(repo.store(), repo.key(), id).entries;
    } catch (const Error&) {
      continue;
    }
    auto no = static_cast<std::uint32_t>(o.pack_ids.size());
    o.pack_ids.push_back(id);
    for (const auto& e : entries) o.blocks.emplace(e.id, std::make_pair(no, e));
  }
  return o;
}

std::uint32_t Target::adopt(const std::string& pack_id, bool claim_it) {
  std::lock_guard lock(mu);
  auto it = pack_numbers.find(pack_id);
  if (it != pack_numbers.end()) return it->second;
  std::uint32_t no = manifest->declare_pack(pack_id);
  pack_numbers.emplace(pack_id, no);
  if (claim_it) packs.push_back(pack_id);
  return no;
}

void Target::claim(const std::string& pack_id) {
  std::lock_guard lock(mu);
  packs.push_back(pack_id);
}

void Target::previous_unreadable(const Error& e) {
  {
    std::lock_guard lock(mu);
    if (!warned_.insert(e.what()).second) return;
  }
  log_warning(std::string(e.what()) + ": the files of snapshot " + previous_id +
              " with blocks in it are stored again; run pgdr verify");
}

std::optional<std::uint64_t> smallest_previous_size(const std::vector<std::unique_ptr<Target>>& targets,
                                                    const std::string& path) {
  std::optional<std::uint64_t> smallest;
  for (const auto& t : targets) {
    if (!t->previous) return std::nullopt;
    const auto* p = t->previous->find(path);
    if (!p || p->file.type != repo::EntryType::file) return std::nullopt;
    if (!smallest || p->file.size_bytes < *smallest) smallest = p->file.size_bytes;
  }
  return smallest;
}

Error in_repository(const Error& e, const Target& t, const std::string& snapshot_id) {
  std::string what = e.what();
  const std::string name = "'" + t.repo->name() + "'";
  if (what.find(name) == std::string::npos)
    what = "unable to write snapshot " + snapshot_id + " to repository " + name + ": " + what;
  return Error(e.kind(), what, e.hint());
}

}  // namespace pgdr::backup
