#include "repo/trailer_ids.h"

#include <algorithm>

#include "core/error.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/pack.h"

namespace pgdr::repo {

TrailerIds::TrailerIds(const storage::Storage& store, const MasterKey& key, std::string snapshot_id, std::string where,
                       PackIdOf pack_id, std::size_t budget_bytes)
    : store_(store),
      key_(key),
      snapshot_id_(std::move(snapshot_id)),
      where_(std::move(where)),
      pack_id_(std::move(pack_id)),
      budget_(budget_bytes) {}

std::uint64_t TrailerIds::trailers_read() const {
  std::lock_guard lock(mu_);
  return reads_;
}

const TrailerIds::Pack& TrailerIds::pack(std::uint32_t number) {
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (it->number != number) continue;
    if (it != kept_.begin()) kept_.splice(kept_.begin(), kept_, it);
    return kept_.front();
  }
  if (auto bad = damaged_.find(number); bad != damaged_.end()) throw bad->second;
  const std::string& pack_id = pack_id_(number);
  PackTrailer t;
  try {
    t = read_pack_trailer(store_, key_, pack_id);
  } catch (const CorruptPack& e) {
    // Kept: a restore that reads such a pack's frames without ids asks again for every slice.
    throw damaged_.emplace(number, CorruptPack(pack_id, where_, e.detail())).first->second;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found) throw;
    throw Error(ErrorKind::not_found, "missing pack " + pack_object(pack_id) + " in " + where_);
  }
  ++reads_;
  Pack p;
  p.number = number;
  p.ids.reserve(t.entries.size());
  for (const PackEntry& e : t.entries) {
    // The trailer lists each frame's blocks together, by index (read_pack_trailer checks it).
    if (e.index == 0) p.frames.push_back({e.offset, e.length, static_cast<std::uint32_t>(p.ids.size()), 0});
    ++p.frames.back().count;
    p.ids.push_back(e.id);
  }
  kept_bytes_ += p.bytes();
  kept_.push_front(std::move(p));
  while (kept_bytes_ > budget_ && kept_.size() > 1) {
    kept_bytes_ -= kept_.back().bytes();
    kept_.pop_back();
  }
  return kept_.front();
}

void TrailerIds::resolve(std::span<BlockRef> refs, const std::string& file, std::uint64_t first_block) {
  std::lock_guard lock(mu_);
  const Pack* p = nullptr;
  std::size_t f = 0;  // the frame of the last block: the next one is mostly in it or just after
  for (std::size_t i = 0; i < refs.size(); ++i) {
    BlockRef& r = refs[i];
    if (r.is_zero()) continue;
    if (!p || p->number != r.pack) {
      p = &pack(r.pack);
      f = 0;
    }
    if (f >= p->frames.size() || p->frames[f].offset != r.offset) {
      auto it = std::lower_bound(p->frames.begin(), p->frames.end(), r.offset,
                                 [](const Frame& fr, std::uint32_t off) { return fr.offset < off; });
      f = static_cast<std::size_t>(it - p->frames.begin());
    }
    if (f >= p->frames.size() || p->frames[f].offset != r.offset || p->frames[f].length != r.length ||
        r.index >= p->frames[f].count)
      throw Error(ErrorKind::corrupt, "corrupt manifest of snapshot " + snapshot_id_ + " in " + where_ + " (block " +
                                          std::to_string(first_block + i) + " of " + file + " refers to a frame at offset " +
                                          std::to_string(r.offset) + " of pack " + pack_id_(r.pack) +
                                          " that its trailer does not list)");
    r.id = p->ids[p->frames[f].first + r.index];
  }
}

}  // namespace pgdr::repo
