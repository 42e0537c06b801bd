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

// One expire, its phases in order (run()). What each phase decides is in result_ and in the
// members below; the removal phases run only when it is not a dry run.
class Expire {
 public:
  // Under the lock no backup is writing: every pack and manifest without an info object is a
  // leftover of one that died, not one that is about to be completed.
  Expire(const Repository& repo, const ExpireOptions& options)
      : repo_(repo),
        options_(options),
        store_(repo.store()),
        lock_(RepoLock::acquire(store_, repo.name(), "expire", {options.lock_wait, {}})) {
    result_.dry_run = options.dry_run;
  }

  ExpireResult run() {
    decide();
    find_live_packs();
    read_retired();
    plan_snapshot_objects();
    plan_packs();
    plan_wal();
    if (options_.dry_run) {
      total();
      return std::move(result_);
    }
    // Infos, then manifests, then (after repacking) packs, then markers, then WAL: a snapshot
    // disappears before its manifest, and a pack is removed only once no manifest that could name
    // it remains visible, so at every step each snapshot still listed has all it needs.
    remove_snapshots();
    if (!candidates_.empty()) repack();
    for (const auto& w : result_.repack_written) {
      live_packs_.insert(last_segment(w.name));
      ++result_.packs_kept;
    }
    // Before any pack goes, so that no kept info lists a pack that is about to disappear.
    reconcile_pack_lists(repo_, result_.snapshots, decl_, result_);
    remove_step(result_.packs);
    remove_markers();
    remove_wal();
    total();
    lock_.release();
    return std::move(result_);
  }

 private:
  // ---- deciding ---------------------------------------------------------------------------------
  // Which snapshots the retention policy keeps.
  void decide() {
    std::vector<SnapshotInfo> infos;
    try {
      infos = list_snapshots(store_, repo_.key());
    } catch (const Error& e) {
      throw cannot_expire(repo_, e);
    }
    std::vector<RetentionInput> inputs;
    for (const auto& s : infos) {
      auto t = parse_iso8601(s.start_time);
      if (!t)
        throw Error(ErrorKind::corrupt, "unable to expire repository '" + repo_.name() + "': snapshot " + s.id +
                                            " has an unreadable start time '" + s.start_time + "'");
      inputs.push_back({s.id, s.system_identifier, *t});
    }
    auto verdicts = apply_retention(inputs, options_.policy, options_.now);
    for (std::size_t i = 0; i < infos.size(); ++i) {
      info_ids_.insert(infos[i].id);
      result_.snapshots.push_back({infos[i], verdicts[i].keep, verdicts[i].reasons});
    }
  }

  // A pack is live when a kept snapshot's manifest declares it; with repacking, which of its
  // frames those manifests use is gathered too.
  void find_live_packs() {
    for (std::size_t i = 0; i < result_.snapshots.size(); ++i) {
      const auto& d = result_.snapshots[i];
      if (!d.keep) continue;
      throw_if_interrupted();
      try {
        ManifestIndex m(store_, d.info.id, repo_.key());
        std::vector<std::string> packs;
        for (std::uint32_t p = 0; p < m.pack_count(); ++p) packs.push_back(m.pack_id(p));
        decl_.set(i, packs);
        if (repacking()) frames_.add(m);
      } catch (const Error& e) {
        throw cannot_expire(repo_, e);
      }
    }
    live_packs_ = decl_.live();
  }

  // Repacked packs wait out their grace; a marker that cannot be read gets a fresh one later.
  void read_retired() {
    retired_ = list_retired(store_, repo_.key());
    for (const auto& m : retired_.markers) retired_at_[m.pack_id] = m.retired_at;
    for (const auto& w : retired_.damaged) result_.warnings.push_back(w + ": its pack is kept for a new grace period");
    for (const auto& o : retired_.damaged_objects) damaged_marker_packs_.insert(last_segment(o));
  }

  bool waiting(const std::string& pack_id) const {
    if (damaged_marker_packs_.count(pack_id)) return true;
    auto it = retired_at_.find(pack_id);
    return it != retired_at_.end() && options_.now - it->second < options_.repack_grace;
  }

  RemovedObject sized(const std::string& name) const { return RemovedObject{name, size_of(store_, name)}; }

  std::vector<storage::ObjectInfo> sorted_listing(std::string_view prefix) const {
    std::vector<storage::ObjectInfo> listing = store_.list(prefix);
    std::sort(listing.begin(), listing.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return listing;
  }

  void plan_snapshot_objects() {
    // Infos first (the snapshots disappear), then their manifests.
    for (const auto& d : result_.snapshots)
      if (!d.keep) result_.snapshot_objects.push_back(sized(snapshot_info_object(d.info.id)));
    for (const auto& d : result_.snapshots)
      if (!d.keep) result_.snapshot_objects.push_back(sized(snapshot_manifest_object(d.info.id)));
    // Manifests of backups that died, or of snapshots an interrupted expire had begun to remove.
    for (const auto& obj : sorted_listing(kSnapshotsDir)) {
      std::string name = last_segment(obj.path);
      if (!name.ends_with(kManifestSuffix)) continue;
      std::string id = name.substr(0, name.size() - kManifestSuffix.size());
      if (info_ids_.count(id)) continue;
      result_.snapshot_objects.push_back({obj.path, obj.size_bytes});
    }
  }

  // A pack no kept manifest declares goes, unless it waits out its grace; a live one may be a
  // candidate for repacking.
  void plan_packs() {
    std::vector<std::pair<double, RepackedPack>> ranked;  // garbage share, pack
    for (const auto& obj : sorted_listing(kPacksDir)) {
      std::string id = last_segment(obj.path);
      present_.insert(id);
      if (!live_packs_.count(id)) {
        drop_pack(obj.path, obj.size_bytes);
        continue;
      }
      ++result_.packs_kept;
      if (!repacking() || obj.size_bytes == 0) continue;
      // Garbage is what a copy would not need: the needed frames and the largest trailer they could
      // have stay. Counting the trailer as garbage would make a freshly repacked pack a candidate
      // again at a low threshold, and repack it at every run.
      std::uint64_t live = frames_.bytes(id);
      std::uint64_t kept = live + pack_overhead_bound(frames_.of(id).size());
      double garbage =
          obj.size_bytes > kept ? static_cast<double>(obj.size_bytes - kept) / static_cast<double>(obj.size_bytes) : 0;
      if (garbage > 0 && garbage >= options_.repack_threshold)
        ranked.push_back({garbage, {obj.path, obj.size_bytes, live}});
    }
    choose_candidates(ranked);
  }

  // A pack no kept snapshot needs: removed, or counted as waiting out its grace.
  void drop_pack(const std::string& path, std::uint64_t size_bytes) {
    if (waiting(last_segment(path))) {
      ++result_.retired_waiting;
      result_.retired_waiting_bytes += size_bytes;
    } else {
      result_.packs.push_back({path, size_bytes});
    }
  }

  // The most garbage per byte copied first; beyond repack_max_packs, later expires go on (the
  // lock is held all along, and a backup waits at most lock_wait for it).
  void choose_candidates(std::vector<std::pair<double, RepackedPack>>& ranked) {
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [share, p] : ranked) {
      if (candidates_.size() >= options_.repack_max_packs) {
        ++result_.repack_deferred;
        continue;
      }
      candidates_.push_back(last_segment(p.name));
      result_.repacked.push_back(p);
    }
  }

  void plan_wal() {
    std::uint64_t segment_bytes = 0;
    auto first = first_needed_segment(result_.snapshots, result_.wal_note, result_.oldest_wal_needed, segment_bytes);
    if (!first) return;
    for (const auto& obj : sorted_listing(kWalDir)) {
      std::string name = last_segment(obj.path);
      if (auto summarized = summarized_segment(name)) {
        auto seg = pg::parse_segment_file_name(*summarized, segment_bytes);
        if (seg && seg->segno < *first) result_.wal_summaries.push_back({obj.path, obj.size_bytes});
        continue;
      }
      auto kind = classify_wal_file(name);
      // History and backup history files are small and tell how timelines and backups relate: kept.
      if (!kind || (*kind != WalFileKind::segment && *kind != WalFileKind::partial)) continue;
      auto seg = pg::parse_segment_file_name(name.substr(0, 24), segment_bytes);
      if (seg && seg->segno < *first) result_.wal.push_back({obj.path, obj.size_bytes});
    }
  }

  void total() {
    result_.bytes_removed = 0;
    for (const auto* list : {&result_.snapshot_objects, &result_.packs, &result_.wal, &result_.wal_summaries,
                             &result_.retired_markers})
      for (const auto& o : *list) result_.bytes_removed += o.size_bytes;
    result_.bytes_freed = static_cast<std::int64_t>(result_.bytes_removed + result_.bytes_replaced) -
                          static_cast<std::int64_t>(result_.bytes_written);
  }

  // ---- removing -----------------------------------------------------------------------------------
  // remove_many() is neither atomic nor ordered within one call, hence one call per step and never
  // two steps in one call.
  void remove_step(const std::vector<RemovedObject>& objects) {
    throw_if_interrupted();
    std::vector<std::string> names;
    for (const auto& o : objects) names.push_back(o.name);
    if (!names.empty()) store_.remove_many(names);
  }

  void remove_snapshots() {
    std::vector<RemovedObject> info_objects, manifest_objects;
    for (const auto& o : result_.snapshot_objects)
      (o.name.ends_with(kInfoSuffix) ? info_objects : manifest_objects).push_back(o);
    // Each removal is recorded before it happens, so that verify can tell a snapshot that pgdr
    // expired from one that vanished otherwise; when the record cannot be written nothing goes.
    std::vector<std::string> removed_ids;
    for (const auto& d : result_.snapshots)
      if (!d.keep) removed_ids.push_back(d.info.id);
    record_expired(repo_, removed_ids, "removed by pgdr expire: out of the retention policy");
    remove_step(info_objects);
    remove_step(manifest_objects);
  }

  // New packs durable, then a marker for each old pack, then the manifests switched one by one
  // (each atomically): every manifest, old or new, finds every frame it names.
  void repack() {
    CopyResult copies = copy_live_frames(repo_, candidates_, frames_);
    for (const auto& w : copies.written) {
      result_.repack_written.push_back({w.path, w.size_bytes});
      result_.bytes_written += w.size_bytes;
    }
    for (const auto& s : copies.skipped) result_.warnings.push_back(s + ": left whole");
    std::erase_if(result_.repacked,
                  [&](const RepackedPack& p) { return !copies.repacked.count(last_segment(p.name)); });
    for (const auto& id : copies.repacked) {
      throw_if_interrupted();
      write_retired_marker(store_, repo_.key(), {id, options_.now, copies.replaced_by[id]});
      retired_at_[id] = options_.now;
      damaged_marker_packs_.erase(id);
      result_.bytes_written += size_of(store_, retired_object(id));
    }
    rewrite_manifests(copies);
    live_packs_ = decl_.live();
    // With no grace, the old packs go with this expire, like any pack no kept manifest declares.
    for (const auto& p : result_.repacked) {
      if (live_packs_.count(last_segment(p.name))) continue;
      --result_.packs_kept;
      drop_pack(p.name, p.size_bytes);
    }
  }

  // The manifest of each kept snapshot that uses a repacked pack, switched to the copies.
  void rewrite_manifests(const CopyResult& copies) {
    for (std::size_t i = 0; i < result_.snapshots.size(); ++i) {
      auto& d = result_.snapshots[i];
      if (!d.keep) continue;
      bool touched = std::any_of(copies.repacked.begin(), copies.repacked.end(),
                                 [&](const std::string& id) { return decl_.declares(i, id); });
      if (!touched) continue;
      throw_if_interrupted();
      std::string object = snapshot_manifest_object(d.info.id);
      result_.bytes_replaced += size_of(store_, object);
      RewrittenManifest m = rewrite_manifest(repo_, d.info.id, copies);
      result_.bytes_written += m.stored_bytes;
      d.info.manifest_bytes = m.stored_bytes;
      decl_.set(i, m.packs);
      result_.manifests_rewritten.push_back(d.info.id);
    }
  }

  // A marker goes once its pack is gone, or when its pack is needed again (a backup reused it, or
  // an expire stopped before switching the manifests). A damaged one is replaced.
  void remove_markers() {
    std::set<std::string> removed_packs;
    for (const auto& p : result_.packs) removed_packs.insert(last_segment(p.name));
    auto& markers = result_.retired_markers;
    for (const auto& m : retired_.markers)
      if (removed_packs.count(m.pack_id) || !present_.count(m.pack_id) || live_packs_.count(m.pack_id))
        markers.push_back(sized(retired_object(m.pack_id)));
    for (const auto& p : result_.repacked)
      if (removed_packs.count(last_segment(p.name))) markers.push_back(sized(retired_object(last_segment(p.name))));
    for (const auto& id : damaged_marker_packs_) {
      if (!present_.count(id) || live_packs_.count(id) || removed_packs.count(id)) {
        markers.push_back(sized(retired_object(id)));
      } else {
        result_.bytes_replaced += size_of(store_, retired_object(id));
        write_retired_marker(store_, repo_.key(), {id, options_.now, {}});
        result_.bytes_written += size_of(store_, retired_object(id));
      }
    }
    std::sort(markers.begin(), markers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    markers.erase(
        std::unique(markers.begin(), markers.end(), [](const auto& a, const auto& b) { return a.name == b.name; }),
        markers.end());
    remove_step(markers);
  }

  // Summaries go in the same step as their segments, in any order: a summary or a segment left
  // alone by a crash is old WAL the next expire removes, and nothing reads either once it is older
  // than every kept snapshot.
  void remove_wal() {
    std::vector<RemovedObject> wal_step = result_.wal;
    wal_step.insert(wal_step.end(), result_.wal_summaries.begin(), result_.wal_summaries.end());
    remove_step(wal_step);
  }

  bool repacking() const { return options_.repack_threshold > 0; }

  const Repository& repo_;
  const ExpireOptions& options_;
  storage::Storage& store_;
  RepoLock lock_;
  ExpireResult result_;

  std::set<std::string> info_ids_;  // every snapshot with an info object
  Declarations decl_;               // the packs each kept snapshot's manifest declares
  LiveFrames frames_;               // with repacking: the frames kept manifests use
  std::set<std::string> live_packs_;
  RetiredListing retired_;
  std::map<std::string, SystemTime> retired_at_;
  std::set<std::string> damaged_marker_packs_;
  std::set<std::string> present_;        // every pack listed
  std::vector<std::string> candidates_;  // packs to repack, the most garbage first
};

}  // namespace

ExpireResult run_expire(const Repository& repo, const ExpireOptions& options) {
  return Expire(repo, options).run();
}

}  // namespace pgdr::repo
