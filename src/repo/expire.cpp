#include "repo/expire.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/interrupt.h"
#include "pg/lsn.h"
#include "repo/format.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repack.h"
#include "repo/retired_pack.h"
#include "repo/snapshot_ledger.h"
#include "repo/wal_archive.h"
#include "repo/wal_summary.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kManifestSuffix = ".manifest";
constexpr std::string_view kInfoSuffix = ".info";

std::string last_segment(const std::string& path) { return path.substr(path.rfind('/') + 1); }

Error cannot_expire(const Repository& repo, const Error& e) {
  return Error(e.kind(), "unable to expire repository '" + repo.name() + "': " + e.what(),
               "nothing was removed; a snapshot that cannot be read may need any pack: repair or remove it first");
}

// The WAL kept snapshots need: from the segment where the oldest of them starts, on every
// timeline. Returns that segment number, or a note why WAL is left alone.
std::optional<std::uint64_t> first_needed_segment(const std::vector<SnapshotDecision>& decisions, std::string& note,
                                                  std::string& segment_name, std::uint64_t& segment_bytes) {
  if (decisions.empty()) {
    note = "no snapshot: archived WAL left alone";
    return std::nullopt;
  }
  std::set<std::string> systems;
  std::set<std::uint64_t> sizes;
  for (const auto& d : decisions) {
    systems.insert(d.info.system_identifier);
    sizes.insert(d.info.wal_segment_bytes);
  }
  // The WAL archive is not divided by cluster: with two clusters' snapshots, segment numbers of one
  // say nothing about the other's.
  if (systems.size() > 1 || sizes.size() > 1) {
    note = "snapshots of several clusters: archived WAL left alone";
    return std::nullopt;
  }
  segment_bytes = *sizes.begin();
  std::optional<std::uint64_t> first;
  for (const auto& d : decisions) {
    if (!d.keep) continue;
    auto seg = pg::parse_segment_file_name(d.info.first_wal_segment, segment_bytes);
    if (!seg) {
      note = "snapshot " + d.info.id + " names no readable first WAL segment: archived WAL left alone";
      return std::nullopt;
    }
    if (!first || seg->segno < *first) {
      first = seg->segno;
      segment_name = d.info.first_wal_segment;
    }
  }
  return first;
}

// Which packs each kept snapshot's manifest declares. Pack ids are numbered once, so a snapshot
// costs 4 bytes per pack it declares.
struct Declarations {
  std::unordered_map<std::string, std::uint32_t> number;
  std::vector<std::string> ids;
  std::map<std::size_t, std::vector<std::uint32_t>> by_snapshot;  // decision index -> sorted pack numbers

  std::uint32_t of(const std::string& id) {
    auto [it, fresh] = number.try_emplace(id, static_cast<std::uint32_t>(ids.size()));
    if (fresh) ids.push_back(id);
    return it->second;
  }
  void set(std::size_t snapshot, const std::vector<std::string>& packs) {
    std::vector<std::uint32_t> v;
    for (const auto& p : packs) v.push_back(of(p));
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    by_snapshot[snapshot] = std::move(v);
  }
  bool declares(std::size_t snapshot, const std::string& id) const {
    auto it = number.find(id);
    if (it == number.end()) return false;
    const auto& v = by_snapshot.at(snapshot);
    return std::binary_search(v.begin(), v.end(), it->second);
  }
  std::set<std::string> live() const {
    std::set<std::string> out;
    for (const auto& [s, v] : by_snapshot)
      for (auto n : v) out.insert(ids[n]);
    return out;
  }
};

std::uint64_t size_of(const storage::Storage& store, const std::string& object) {
  auto st = store.stat(object);
  return st ? st->size_bytes : 0;
}

// The pack lists of kept snapshots' infos, made exact again: a pack no longer declared by the
// snapshot's own manifest (repacked away) leaves its list, and a needed pack that no kept info
// lists joins the list of the newest kept snapshot that declares it, so backups do not take it
// for an orphan and read its trailer every time. Rewrites each info that changed, and each whose
// manifest was rewritten (its manifest_bytes).
void reconcile_pack_lists(const Repository& repo, std::vector<SnapshotDecision>& decisions, const Declarations& decl,
                          ExpireResult& result) {
  std::vector<std::vector<std::string>> lists(decisions.size());
  std::set<std::string> claimed;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    if (!decisions[i].keep) continue;
    for (const auto& p : decisions[i].info.packs)
      if (decl.declares(i, p) && !claimed.count(p)) {
        lists[i].push_back(p);
        claimed.insert(p);
      }
  }
  for (std::size_t i = decisions.size(); i-- > 0;) {
    if (!decisions[i].keep) continue;
    for (auto n : decl.by_snapshot.at(i)) {
      const std::string& p = decl.ids[n];
      if (claimed.insert(p).second) lists[i].push_back(p);
    }
  }
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    SnapshotInfo& info = decisions[i].info;
    bool manifest_rewritten = std::find(result.manifests_rewritten.begin(), result.manifests_rewritten.end(),
                                        info.id) != result.manifests_rewritten.end();
    if (!decisions[i].keep || (lists[i] == info.packs && !manifest_rewritten)) continue;
    throw_if_interrupted();
    std::string object = snapshot_info_object(info.id);
    result.bytes_replaced += size_of(repo.store(), object);
    info.packs = lists[i];
    write_snapshot_info(repo.store(), repo.key(), info);
    result.bytes_written += size_of(repo.store(), object);
    result.infos_rewritten.push_back(info.id);
  }
}

}  // namespace

ExpireResult run_expire(const Repository& repo, const ExpireOptions& options) {
  storage::Storage& store = repo.store();
  // Under the lock no backup is writing: every pack and manifest without an info object is a
  // leftover of one that died, not one that is about to be completed.
  RepoLock lock = RepoLock::acquire(store, repo.name(), "expire", {options.lock_wait, {}});
  ExpireResult result;
  result.dry_run = options.dry_run;
  const bool repacking = options.repack_threshold > 0;

  std::vector<SnapshotInfo> infos;
  try {
    infos = list_snapshots(store, repo.key());
  } catch (const Error& e) {
    throw cannot_expire(repo, e);
  }
  std::vector<RetentionInput> inputs;
  for (const auto& s : infos) {
    auto t = parse_iso8601(s.start_time);
    if (!t)
      throw Error(ErrorKind::corrupt, "unable to expire repository '" + repo.name() + "': snapshot " + s.id +
                                          " has an unreadable start time '" + s.start_time + "'");
    inputs.push_back({s.id, s.system_identifier, *t});
  }
  auto verdicts = apply_retention(inputs, options.policy, options.now);
  std::set<std::string> info_ids;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    info_ids.insert(infos[i].id);
    result.snapshots.push_back({infos[i], verdicts[i].keep, verdicts[i].reasons});
  }

  // A pack is live when a kept snapshot's manifest declares it; with repacking, which of its
  // frames those manifests use is gathered too.
  Declarations decl;
  LiveFrames frames;
  for (std::size_t i = 0; i < result.snapshots.size(); ++i) {
    const auto& d = result.snapshots[i];
    if (!d.keep) continue;
    throw_if_interrupted();
    try {
      ManifestIndex m(store, d.info.id, repo.key());
      std::vector<std::string> packs;
      for (std::uint32_t p = 0; p < m.pack_count(); ++p) packs.push_back(m.pack_id(p));
      decl.set(i, packs);
      if (repacking) frames.add(m);
    } catch (const Error& e) {
      throw cannot_expire(repo, e);
    }
  }
  std::set<std::string> live_packs = decl.live();

  // Repacked packs wait out their grace; a marker that cannot be read gets a fresh one below.
  RetiredListing retired = list_retired(store, repo.key());
  std::map<std::string, SystemTime> retired_at;
  for (const auto& m : retired.markers) retired_at[m.pack_id] = m.retired_at;
  for (const auto& w : retired.damaged) result.warnings.push_back(w + ": its pack is kept for a new grace period");
  std::set<std::string> damaged_marker_packs;
  for (const auto& o : retired.damaged_objects) damaged_marker_packs.insert(last_segment(o));
  auto waiting = [&](const std::string& pack_id) {
    if (damaged_marker_packs.count(pack_id)) return true;
    auto it = retired_at.find(pack_id);
    return it != retired_at.end() && options.now - it->second < options.repack_grace;
  };

  auto sized = [&](const std::string& name) { return RemovedObject{name, size_of(store, name)}; };
  // Infos first (the snapshots disappear), then their manifests.
  for (const auto& d : result.snapshots)
    if (!d.keep) result.snapshot_objects.push_back(sized(snapshot_info_object(d.info.id)));
  for (const auto& d : result.snapshots)
    if (!d.keep) result.snapshot_objects.push_back(sized(snapshot_manifest_object(d.info.id)));
  // Manifests of backups that died, or of snapshots an interrupted expire had begun to remove.
  std::vector<storage::ObjectInfo> snapshot_listing = store.list(kSnapshotsDir);
  std::sort(snapshot_listing.begin(), snapshot_listing.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  for (const auto& obj : snapshot_listing) {
    std::string name = last_segment(obj.path);
    if (!name.ends_with(kManifestSuffix)) continue;
    std::string id = name.substr(0, name.size() - kManifestSuffix.size());
    if (info_ids.count(id)) continue;
    result.snapshot_objects.push_back({obj.path, obj.size_bytes});
  }

  std::vector<storage::ObjectInfo> pack_listing = store.list(kPacksDir);
  std::sort(pack_listing.begin(), pack_listing.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  std::set<std::string> present;
  std::vector<std::pair<double, RepackedPack>> ranked;  // garbage share, pack
  for (const auto& obj : pack_listing) {
    std::string id = last_segment(obj.path);
    present.insert(id);
    if (!live_packs.count(id)) {
      if (waiting(id)) {
        ++result.retired_waiting;
        result.retired_waiting_bytes += obj.size_bytes;
      } else {
        result.packs.push_back({obj.path, obj.size_bytes});
      }
      continue;
    }
    ++result.packs_kept;
    if (!repacking || obj.size_bytes == 0) continue;
    // Garbage is what a copy would not need: the needed frames and the largest trailer they could
    // have stay. Counting the trailer as garbage would make a freshly repacked pack a candidate
    // again at a low threshold, and repack it at every run.
    std::uint64_t live = frames.bytes(id);
    std::uint64_t kept = live + pack_overhead_bound(frames.of(id).size());
    double garbage = obj.size_bytes > kept ? static_cast<double>(obj.size_bytes - kept) / static_cast<double>(obj.size_bytes) : 0;
    if (garbage > 0 && garbage >= options.repack_threshold) ranked.push_back({garbage, {obj.path, obj.size_bytes, live}});
  }
  // The most garbage per byte copied first; beyond repack_max_packs, later expires go on (the
  // lock is held all along, and a backup waits at most lock_wait for it).
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> candidates;
  for (const auto& [share, p] : ranked) {
    if (candidates.size() >= options.repack_max_packs) {
      ++result.repack_deferred;
      continue;
    }
    candidates.push_back(last_segment(p.name));
    result.repacked.push_back(p);
  }

  std::uint64_t segment_bytes = 0;
  if (auto first = first_needed_segment(result.snapshots, result.wal_note, result.oldest_wal_needed, segment_bytes)) {
    std::vector<storage::ObjectInfo> wal_listing = store.list(kWalDir);
    std::sort(wal_listing.begin(), wal_listing.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    for (const auto& obj : wal_listing) {
      std::string name = last_segment(obj.path);
      if (auto summarized = summarized_segment(name)) {
        auto seg = pg::parse_segment_file_name(*summarized, segment_bytes);
        if (seg && seg->segno < *first) result.wal_summaries.push_back({obj.path, obj.size_bytes});
        continue;
      }
      auto kind = classify_wal_file(name);
      // History and backup history files are small and tell how timelines and backups relate: kept.
      if (!kind || (*kind != WalFileKind::segment && *kind != WalFileKind::partial)) continue;
      auto seg = pg::parse_segment_file_name(name.substr(0, 24), segment_bytes);
      if (seg && seg->segno < *first) result.wal.push_back({obj.path, obj.size_bytes});
    }
  }

  auto total = [&] {
    result.bytes_removed = 0;
    for (const auto* list : {&result.snapshot_objects, &result.packs, &result.wal, &result.wal_summaries,
                              &result.retired_markers})
      for (const auto& o : *list) result.bytes_removed += o.size_bytes;
    result.bytes_freed = static_cast<std::int64_t>(result.bytes_removed + result.bytes_replaced) -
                         static_cast<std::int64_t>(result.bytes_written);
  };
  if (options.dry_run) {
    total();
    return result;
  }

  // Infos, then manifests, then (after repacking) packs, then markers, then WAL: a snapshot
  // disappears before its manifest, and a pack is removed only once no manifest that could name it
  // remains visible, so at every step each snapshot still listed has all it needs. remove_many()
  // is neither atomic nor ordered within one call, hence one call per step and never two steps in
  // one call.
  auto remove_step = [&](const std::vector<RemovedObject>& objects) {
    throw_if_interrupted();
    std::vector<std::string> names;
    for (const auto& o : objects) names.push_back(o.name);
    if (!names.empty()) store.remove_many(names);
  };
  std::vector<RemovedObject> info_objects, manifest_objects;
  for (const auto& o : result.snapshot_objects)
    (o.name.ends_with(kInfoSuffix) ? info_objects : manifest_objects).push_back(o);
  // Each removal is recorded before it happens, so that verify can tell a snapshot that pgdr
  // expired from one that vanished otherwise; when the record cannot be written nothing goes.
  std::vector<std::string> removed_ids;
  for (const auto& d : result.snapshots)
    if (!d.keep) removed_ids.push_back(d.info.id);
  record_expired(repo, removed_ids, "removed by pgdr expire: out of the retention policy");
  remove_step(info_objects);
  remove_step(manifest_objects);

  if (!candidates.empty()) {
    // New packs durable, then a marker for each old pack, then the manifests switched one by one
    // (each atomically): every manifest, old or new, finds every frame it names.
    CopyResult copies = copy_live_frames(repo, candidates, frames);
    for (const auto& w : copies.written) {
      result.repack_written.push_back({w.path, w.size_bytes});
      result.bytes_written += w.size_bytes;
    }
    for (const auto& s : copies.skipped) result.warnings.push_back(s + ": left whole");
    std::erase_if(result.repacked, [&](const RepackedPack& p) { return !copies.repacked.count(last_segment(p.name)); });
    for (const auto& id : copies.repacked) {
      throw_if_interrupted();
      write_retired_marker(store, repo.key(), {id, options.now, copies.replaced_by[id]});
      retired_at[id] = options.now;
      damaged_marker_packs.erase(id);
      result.bytes_written += size_of(store, retired_object(id));
    }
    for (std::size_t i = 0; i < result.snapshots.size(); ++i) {
      auto& d = result.snapshots[i];
      if (!d.keep) continue;
      bool touched = std::any_of(copies.repacked.begin(), copies.repacked.end(),
                                 [&](const std::string& id) { return decl.declares(i, id); });
      if (!touched) continue;
      throw_if_interrupted();
      std::string object = snapshot_manifest_object(d.info.id);
      result.bytes_replaced += size_of(store, object);
      RewrittenManifest m = rewrite_manifest(repo, d.info.id, copies);
      result.bytes_written += m.stored_bytes;
      d.info.manifest_bytes = m.stored_bytes;
      decl.set(i, m.packs);
      result.manifests_rewritten.push_back(d.info.id);
    }
    live_packs = decl.live();
    // With no grace, the old packs go with this expire, like any pack no kept manifest declares.
    for (const auto& p : result.repacked) {
      std::string id = last_segment(p.name);
      if (live_packs.count(id)) continue;
      --result.packs_kept;
      if (waiting(id)) {
        ++result.retired_waiting;
        result.retired_waiting_bytes += p.size_bytes;
      } else {
        result.packs.push_back({p.name, p.size_bytes});
      }
    }
  }
  for (const auto& w : result.repack_written) {
    live_packs.insert(last_segment(w.name));
    ++result.packs_kept;
  }

  // Before any pack goes, so that no kept info lists a pack that is about to disappear.
  reconcile_pack_lists(repo, result.snapshots, decl, result);

  remove_step(result.packs);
  // A marker goes once its pack is gone, or when its pack is needed again (a backup reused it,
  // or an expire stopped before switching the manifests). A damaged one is replaced.
  std::set<std::string> removed_packs;
  for (const auto& p : result.packs) removed_packs.insert(last_segment(p.name));
  for (const auto& m : retired.markers)
    if (removed_packs.count(m.pack_id) || !present.count(m.pack_id) || live_packs.count(m.pack_id))
      result.retired_markers.push_back(sized(retired_object(m.pack_id)));
  for (const auto& p : result.repacked)
    if (removed_packs.count(last_segment(p.name))) result.retired_markers.push_back(sized(retired_object(last_segment(p.name))));
  for (const auto& id : damaged_marker_packs) {
    if (!present.count(id) || live_packs.count(id) || removed_packs.count(id)) {
      result.retired_markers.push_back(sized(retired_object(id)));
    } else {
      result.bytes_replaced += size_of(store, retired_object(id));
      write_retired_marker(store, repo.key(), {id, options.now, {}});
      result.bytes_written += size_of(store, retired_object(id));
    }
  }
  std::sort(result.retired_markers.begin(), result.retired_markers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  result.retired_markers.erase(std::unique(result.retired_markers.begin(), result.retired_markers.end(),
                                           [](const auto& a, const auto& b) { return a.name == b.name; }),
                               result.retired_markers.end());
  remove_step(result.retired_markers);
  // Summaries go in the same step as their segments, in any order: a summary or a segment left
  // alone by a crash is old WAL the next expire removes, and nothing reads either once it is older
  // than every kept snapshot.
  std::vector<RemovedObject> wal_step = result.wal;
  wal_step.insert(wal_step.end(), result.wal_summaries.begin(), result.wal_summaries.end());
  remove_step(wal_step);
  total();
  lock.release();
  return result;
}

}  // namespace pgdr::repo
