// The checksums check. Three passes over the repository on process_max threads (1 and 3 from
// one queue, then 2):
//  1. packs: each read once, trailer first, then its frames in windows. A pack no run verified
//     before is proven: every frame authenticated for its place and decoded, every block's SHA-256
//     computed and its HMAC compared with its id in the trailer (repo/block_reader.h). A pack an
//     earlier run proved (recorded in the catalog, not --full) is authenticated: every frame's
//     AEAD tag for its place and its header against the trailer, nothing decompressed or hashed.
//     Unchanged authentic bytes decode as they did, and what changed fails authentication, so the
//     earlier proof still holds at a fraction of the cost. Where each block is and its id wait for
//     pass 2 in a spool (verify/proven_blocks.h).
//  2. manifests: each read and checked; every file reassembled logically: its block ids, found in
//     the packs read this run, hashed in order (repo/file_digest.h) and compared with the file's
//     recorded digest. A block in a pack not read this run
//     (verified within reverify_after) cannot be placed, so that file's digest is checked only by
//     a run that reads all its packs (--full, or once they are due again); its pack must still
//     exist.
//  3. WAL objects: each fetched as archive-get would, size and SHA-256 checked; one an earlier
//     run proved (not --full) authenticated to its end instead, and its first bytes checked
//     against the cluster.
// Objects recorded in the catalog as verified within reverify_after are skipped, unless --full.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "io/sha256.h"
#include "io/sha256_lanes.h"
#include "repo/block_reader.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/wal_archive.h"
#include "verify/checks.h"
#include "verify/proven_blocks.h"

namespace pgdr::verify {

namespace {

using Clock = std::chrono::steady_clock;

// WAL objects hashed side by side per task, and the most of each hashed per round (pieces of
// different objects are hashed in lockstep only as far as the shortest goes: equal pieces keep
// all four lanes busy; sealed frames hold 1 MiB).
constexpr std::size_t kWalLanes = 4;
constexpr std::size_t kWalChunkBytes = 256 * 1024;
// A pack's frames are read in windows of neighbours of at most this many bytes (one longer frame
// alone).
constexpr std::uint64_t kWindowBytes = 4u << 20;

std::uint64_t frame_key(std::uint32_t pack_no, std::uint32_t offset) {
  return (static_cast<std::uint64_t>(pack_no) << 32) | offset;
}

// What a repository object is, for the pass that checks it.
enum class ObjectKind { pack, manifest, wal };

struct Problem {
  std::string object;
  std::string error;
  std::set<std::string> snapshots;
  std::vector<std::string> files;
  std::size_t more_files = 0;
};

// What pass 1 learnt about the packs.
struct PackState {
  std::vector<std::string> ids;                     // pack number -> pack id
  std::unordered_map<std::string, std::uint32_t> number;
  std::vector<bool> read_now;                        // read in this run
  std::vector<bool> decode_now;                      // ... and decoded (else authenticated only)
  std::map<std::uint32_t, std::string> bad_pack;     // whole pack unreadable (or missing): why
  std::set<std::uint32_t> missing;                   // listed by a snapshot, absent from the repository
  std::map<std::uint64_t, std::string> bad_frame;    // frame_key -> why
  std::unique_ptr<ProvenBlocks> blocks;              // made once ids is complete
  std::mutex mu;
};

bool is_pack_object(const std::string& path, std::string& id) {
  // packs/xx/<32 hex>
  if (path.size() != 6 + 3 + 32 || !path.starts_with("packs/") || path[8] != '/') return false;
  id = path.substr(9);
  return id.compare(0, 2, path.substr(6, 2)) == 0;
}

struct ManifestOutcome {
  std::string error;                                 // the manifest itself is unreadable
  std::map<std::uint32_t, std::vector<std::string>> bad_pack_files;  // damaged pack -> files using it
  std::vector<std::pair<std::string, std::string>> file_errors;     // path, why (digest mismatch, missing block)
  std::set<std::uint32_t> packs_used;
  std::uint64_t files = 0;
  std::uint64_t files_digest_checked = 0;
};

ManifestOutcome check_manifest(const repo::Repository& repo, const std::string& snapshot_id, PackState& st) {
  ManifestOutcome out;
  std::optional<repo::ManifestIndex> idx;
  try {
    idx.emplace(repo.store(), snapshot_id, repo.key());
  } catch (const Error& e) {
    out.error = e.what();
    return out;
  }
  // Pack numbers of this manifest -> the run's pack numbers (UINT32_MAX: not in the repository).
  std::vector<std::uint32_t> map(idx->pack_count(), UINT32_MAX);
  for (std::uint32_t p = 0; p < idx->pack_count(); ++p) {
    auto it = st.number.find(idx->pack_id(p));
    if (it != st.number.end()) map[p] = it->second;
  }
  ProvenBlocks::Lookup proven(*st.blocks);
  for (const auto& e : idx->entries()) {
    if (e.file.type != repo::EntryType::file) continue;
    ++out.files;
    auto refs = idx->locations(e);
    bool digest_known = true;
    std::string file_error;
    repo::FileDigest file_digest;
    for (std::size_t i = 0; i < refs.size() && file_error.empty(); ++i) {
      const auto& ref = refs[i];
      if (ref.is_zero()) {
        file_digest.add_zero();
        continue;
      }
      std::uint32_t pn = map[ref.pack];
      if (pn == UINT32_MAX) {
        file_error = "block " + std::to_string(i) + " is in pack " + idx->pack_id(ref.pack) + ", which is missing";
        break;
      }
      out.packs_used.insert(pn);
      if (st.bad_pack.count(pn) || st.bad_frame.count(frame_key(pn, ref.offset))) {
        auto& files = out.bad_pack_files[pn];
        if (files.empty() || files.back() != e.file.path) files.push_back(e.file.path);
        digest_known = false;
        file_error = "-";  // reported with the pack
        break;
      }
      if (!st.read_now[pn]) {
        digest_known = false;
        continue;
      }
      const ProvenBlock* block = proven.find(pn, ref.offset, ref.index);
      if (!block) {
        file_error = "block " + std::to_string(i) + " is not in pack " + st.ids[pn] + " at offset " +
                     std::to_string(ref.offset) + " index " + std::to_string(ref.index);
        break;
      }
      // A version 4 manifest names no block: the id is the trailer's, which pass 1 proved.
      if (idx->version() == 3 && block->id != ref.id) {
        file_error = "block " + std::to_string(i) + " in pack " + st.ids[pn] + " is not the block the manifest names";
        break;
      }
      file_digest.add_id(block->id);
    }
    if (!file_error.empty()) {
      if (file_error != "-") out.file_errors.push_back({e.file.path, file_error});
      continue;
    }
    if (!digest_known) continue;
    ++out.files_digest_checked;
    if (file_digest.finish_hex() != e.file.sha256)
      out.file_errors.push_back({e.file.path, "reassembled content does not match the recorded SHA-256"});
  }
  return out;
}

nlohmann::json problem_json(const Problem& p) {
  nlohmann::json j = {{"object", p.object}, {"error", p.error},
                      {"snapshots", std::vector<std::string>(p.snapshots.begin(), p.snapshots.end())},
                      {"files", p.files}};
  if (p.more_files) j["more_files"] = p.more_files;
  return j;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// One run of the check: planning (which objects are due), the passes, then the report. Members are
// the run's state; the passes fill them, pass 2 reads what pass 1 left.
class ObjectCheck {
 public:
  ObjectCheck(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps, catalog::Catalog* catalog,
              const ObjectCheckOptions& options)
      : repo_(repo), snaps_(snaps), catalog_(catalog), options_(options) {}

  CheckResult run(const std::vector<std::string>& damaged_infos, std::vector<std::string>& damaged_wal) {
    list_objects();
    plan();
    Progress progress("verify", due_bytes_);
    progress_ = &progress;
    read_packs_and_wal();
    check_manifests();
    progress.finish();
    std::vector<Problem> problems = gather_problems(damaged_wal);
    for (const auto& d : damaged_infos) problems.push_back({"", d, {}, {}, 0});
    remember();
    return result(problems);
  }

 private:
  static constexpr std::size_t kFilesNamed = 10;

  // An object this run considers.
  struct Candidate {
    ObjectKind kind;
    std::size_t index;  // into the packs, snapshots or WAL names
    std::string object;
    bool verified_before = false;  // the catalog records an earlier run that verified it
  };

  // The packs and WAL objects in the repository, the packs snapshots list but it lacks, and the
  // manifests present.
  void list_objects() {
    for (const auto& o : repo_.store().list(repo::kPacksDir)) {
      std::string id;
      if (is_pack_object(o.path, id)) {
        st_.number[id] = static_cast<std::uint32_t>(st_.ids.size());
        st_.ids.push_back(id);
      }
    }
    for (const auto& o : repo_.store().list(repo::kWalDir)) {
      std::string name = o.path.substr(o.path.rfind('/') + 1);
      if (repo::classify_wal_file(name) && repo::wal_object(name) == o.path) wal_names_.push_back(name);
    }
    std::sort(wal_names_.begin(), wal_names_.end());
    wal_decode_.assign(wal_names_.size(), false);
    // Packs a snapshot lists but the repository lacks: found even when every object that exists
    // was verified before.
    listed_packs_ = st_.ids.size();
    for (const auto& s : snaps_)
      for (const auto& id : s.packs)
        if (!st_.number.count(id)) {
          auto pn = static_cast<std::uint32_t>(st_.ids.size());
          st_.number[id] = pn;
          st_.ids.push_back(id);
          st_.missing.insert(pn);
          st_.bad_pack[pn] = "snapshot " + s.id + " lists it, the repository does not hold it";
        }
    for (const auto& o : repo_.store().list(repo::kSnapshotsDir)) manifests_present_.insert(o.path);
    st_.read_now.assign(st_.ids.size(), false);
    st_.decode_now.assign(st_.ids.size(), false);
    st_.blocks = std::make_unique<ProvenBlocks>(st_.ids.size());
  }

  // Which objects are due (not verified within reverify_after, or --full; a random share with
  // --sample), and the order each pass takes them in.
  void plan() {
    auto consider = [&](ObjectKind kind, std::size_t index, const std::string& object) {
      ++total_;
      bool before = false;
      if (!options_.full && catalog_) {
        auto when = catalog_->verified_at(repo_.name(), object);
        if (when && options_.now - *when < options_.reverify_after) {
          ++skipped_;
          return;
        }
        before = when.has_value() && !options_.replaced.count(object);
      }
      due_.push_back({kind, index, object, before});
    };
    for (std::size_t i = 0; i < listed_packs_; ++i) consider(ObjectKind::pack, i, repo::pack_object(st_.ids[i]));
    for (std::size_t i = 0; i < snaps_.size(); ++i)
      consider(ObjectKind::manifest, i, repo::snapshot_manifest_object(snaps_[i].id));
    for (std::size_t i = 0; i < wal_names_.size(); ++i) consider(ObjectKind::wal, i, repo::wal_object(wal_names_[i]));
    if (options_.sample_percent && !due_.empty()) {
      std::mt19937_64 rng(std::random_device{}());
      std::shuffle(due_.begin(), due_.end(), rng);
      auto keep =
          static_cast<std::size_t>(std::ceil(static_cast<double>(due_.size()) * *options_.sample_percent / 100.0));
      keep = std::clamp<std::size_t>(keep, 1, due_.size());
      not_sampled_ = due_.size() - keep;
      due_.resize(keep);
    }
    for (const auto& c : due_) {
      switch (c.kind) {
        case ObjectKind::pack:
          packs_due_.push_back(static_cast<std::uint32_t>(c.index));
          st_.read_now[c.index] = true;
          // Every pack the catalog records was proven by some run: a pack is recorded only after
          // a run proved it or, proven before, authenticated it.
          st_.decode_now[c.index] = !c.verified_before;
          (c.verified_before ? packs_authenticated_ : packs_decoded_)++;
          break;
        case ObjectKind::manifest:
          manifests_due_.push_back(c.index);
          break;
        case ObjectKind::wal:
          wal_due_.push_back(c.index);
          wal_decode_[c.index] = !c.verified_before;
          (c.verified_before ? wal_authenticated_ : wal_decoded_)++;
          break;
      }
    }
    std::sort(packs_due_.begin(), packs_due_.end());
    std::sort(manifests_due_.begin(), manifests_due_.end());
    manifests_read_.insert(manifests_due_.begin(), manifests_due_.end());

    std::unordered_map<std::uint32_t, std::uint64_t> pack_bytes;
    for (auto p : packs_due_) {
      auto s = repo_.store().stat(repo::pack_object(st_.ids[p]));
      pack_bytes[p] = s ? s->size_bytes : 0;
      due_bytes_ += pack_bytes[p];
    }
    // Largest first: the last pack a thread takes is then a small one, and threads finish together.
    std::stable_sort(packs_due_.begin(), packs_due_.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return pack_bytes.at(a) > pack_bytes.at(b); });
    // WAL objects of like size share a group (a segment's lane then does not run alone beside a
    // history file's), largest first; those to decode before those only authenticated, which
    // use no lane.
    wal_bytes_.assign(wal_names_.size(), 0);
    for (auto i : wal_due_) {
      try {
        if (auto s = repo_.store().stat(repo::wal_object(wal_names_[i]))) wal_bytes_[i] = s->size_bytes;
      } catch (const Error&) {
        // Reported by the check itself, which opens the object.
      }
    }
    std::stable_sort(wal_due_.begin(), wal_due_.end(), [&](std::size_t a, std::size_t b) {
      return wal_decode_[a] != wal_decode_[b] ? bool(wal_decode_[a]) : wal_bytes_[a] > wal_bytes_[b];
    });
    wal_errors_.assign(wal_due_.size(), "");
  }

  // Passes 1 and 3 share one queue (packs, largest first, then WAL objects in groups): they do not
  // depend on each other, and one queue keeps every thread busy to the end. A group's objects are
  // read piecewise and hashed side by side (see io/sha256_lanes.h): a single SHA-256 stream
  // cannot use the CPU's full hashing throughput.
  void read_packs_and_wal() {
    const std::size_t wal_groups = (wal_due_.size() + kWalLanes - 1) / kWalLanes;
    run_parallel(packs_due_.size() + wal_groups, options_.process_max, [&](WorkQueue& queue) {
      repo::BlockReader reader(repo_.store(), repo_.key(), repo_.store().describe());
      while (auto i = queue.next()) {
        if (*i >= packs_due_.size()) {
          check_wal_group(*i - packs_due_.size());
          continue;
        }
        std::uint64_t before = bytes_read_.load();
        check_pack(reader, packs_due_[*i]);
        progress_->add(bytes_read_.load() - before);
      }
    });
  }

  // Pass 1, one pack: its trailer parsed, then every frame proven (repo/block_reader.h), the frames
  // read in windows of neighbours, not the whole pack at once: verify's memory must not be a pack
  // per thread.
  void check_pack(repo::BlockReader& reader, std::uint32_t pack_no) {
    const std::string& pack_id = st_.ids[pack_no];
    const std::string object = repo::pack_object(pack_id);
    // A pack that cannot be read (permissions, an I/O error) is a finding like a damaged one: the
    // snapshots that need it do not restore, and the report must say so rather than not exist.
    auto unreadable = [&](const Error& e) {
      if (e.kind() == ErrorKind::interrupted) throw e;
      std::lock_guard<std::mutex> g(st_.mu);
      st_.bad_pack[pack_no] = e.kind() == ErrorKind::not_found ? "vanished while being verified"
                                                                : std::string("unreadable: ") + e.what();
    };
    repo::WholePack pack;
    try {
      pack = reader.listed_pack(pack_id);
    } catch (const repo::CorruptPack& e) {
      std::lock_guard<std::mutex> g(st_.mu);
      st_.bad_pack[pack_no] = e.detail();
      return;
    } catch (const Error& e) {
      return unreadable(e);
    }
    bytes_read_ += pack.trailer_bytes;
    std::vector<ProvenBlock> found;
    std::vector<std::pair<std::uint64_t, std::string>> bad;
    const std::uint32_t block_bytes = repo_.settings().block_bytes;
    const bool decode = st_.decode_now[pack_no];
    const auto& entries = pack.entries;
    found.reserve(entries.size());  // exactly: a pack of well-compressed pages lists 100,000 blocks
    std::optional<Bytes> window;
    for (std::size_t i = 0; i < entries.size();) {
      std::size_t j = i;
      while (j < entries.size() && entries[j].offset == entries[i].offset) ++j;
      std::span<const repo::PackEntry> frame(entries.data() + i, j - i);
      const std::uint64_t end = std::uint64_t{frame.front().offset} + frame.front().length;
      if (!window || frame.front().offset < pack.base || end > pack.base + window->size()) {
        // The next window: this frame and the neighbours after it, up to kWindowBytes in all.
        std::uint64_t last = end;
        for (std::size_t k = j; k < entries.size(); ++k) {
          const std::uint64_t e = std::uint64_t{entries[k].offset} + entries[k].length;
          if (e - frame.front().offset > kWindowBytes) break;
          last = std::max(last, e);
        }
        try {
          window = repo_.store().read_range(object, frame.front().offset, last - frame.front().offset);
          if (!window) throw Error(ErrorKind::not_found, "vanished");
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::corrupt) return unreadable(e);
          window.reset();  // shorter than its trailer says: this frame is reported below
        }
        if (window) {
          bytes_read_ += window->size();
          pack.bytes = *window;
          pack.base = frame.front().offset;
        } else {
          pack.bytes = {};
        }
      }
      try {
        if (decode) reader.proven_frame(pack, frame, block_bytes);
        else reader.authenticated_frame(pack, frame, block_bytes);
        for (std::size_t k = 0; k < frame.size(); ++k) found.push_back({frame[k].offset, frame[k].index, frame[k].id});
      } catch (const repo::CorruptPack& e) {
        bad.push_back({frame_key(pack_no, frame.front().offset), e.detail()});
      }
      i = j;
    }
    st_.blocks->add(pack_no, std::move(found));
    std::lock_guard<std::mutex> g(st_.mu);
    for (auto& [k, why] : bad) st_.bad_frame.emplace(k, why);
  }

  // Pass 3, one group of WAL objects: each fetched as archive-get would, size and SHA-256 checked,
  // then its content checked against the cluster (repo::wal_file_problem).
  void check_wal_group(std::size_t group) {
    const std::size_t first = group * kWalLanes;
    const std::size_t n = std::min(kWalLanes, wal_due_.size() - first);
    std::vector<std::optional<repo::WalObjectReader>> readers(n);
    std::vector<Bytes> heads(n);  // each object's first bytes, for repo::wal_file_problem
    auto fail = [&](std::size_t k, const std::string& why) {
      wal_errors_[first + k] = why;
      readers[k].reset();
    };
    // Object k read to its end: its first bytes and size checked against the cluster.
    auto check_content = [&](std::size_t k, const std::string& name) {
      const std::uint64_t size = readers[k]->size_bytes();
      readers[k].reset();
      if (auto problem = repo::wal_file_problem(name, heads[k], size, options_.known))
        fail(k, "invalid WAL object " + repo::wal_object(name) + " in " + repo_.describe() + " (" + *problem + ")");
    };
    auto want_head = [](const std::string& name) { return repo::wal_check_prefix_bytes(*repo::classify_wal_file(name)); };
    // Keeps of piece what object k's first want bytes still lack.
    auto keep_head = [&](std::size_t k, std::size_t want, ByteView piece) {
      if (heads[k].size() < want)
        heads[k].insert(heads[k].end(), piece.begin(),
                        piece.begin() + static_cast<std::ptrdiff_t>(std::min(want - heads[k].size(), piece.size())));
    };
    for (std::size_t k = 0; k < n; ++k) {
      const auto& name = wal_names_[wal_due_[first + k]];
      try {
        bytes_read_ += wal_bytes_[wal_due_[first + k]];
        const bool decode = wal_decode_[wal_due_[first + k]];
        readers[k] = repo::WalObjectReader::open(repo_, name, decode ? std::nullopt : std::optional(want_head(name)));
        if (!readers[k]) {
          fail(k, "missing WAL object " + repo::wal_object(name) + " (vanished)");
        } else if (!decode) {
          // Proven by an earlier run: its first bytes read, the rest authenticated.
          const std::size_t want = want_head(name);
          while (heads[k].size() < want) {
            ByteView v = readers[k]->read_view(want - heads[k].size());
            if (v.empty()) break;
            keep_head(k, want, v);
          }
          readers[k]->authenticate_rest();
          check_content(k, name);
        }
      } catch (const Error& e) {
        fail(k, e.what());
      }
    }
    // Each piece is a view into its reader's decoded frame, valid until that reader's next call:
    // hashed before it.
    io::Sha256Lanes lanes(n);
    std::vector<ByteView> pieces(n);
    for (bool reading = true; reading;) {
      reading = false;
      for (std::size_t k = 0; k < n; ++k) {
        pieces[k] = {};
        if (!readers[k]) continue;
        try {
          pieces[k] = readers[k]->read_view(kWalChunkBytes);
          const auto& name = wal_names_[wal_due_[first + k]];
          if (pieces[k].empty()) {
            readers[k]->finish(lanes.finish(k));
            check_content(k, name);
            continue;
          }
          keep_head(k, want_head(name), pieces[k]);
          reading = true;
        } catch (const Error& e) {
          pieces[k] = {};
          fail(k, e.what());
        }
      }
      lanes.update(pieces);
    }
  }

  // Pass 2: manifests and logical reassembly, once every pack's digests are known.
  void check_manifests() {
    outcomes_.resize(manifests_due_.size());
    parallel_for(manifests_due_.size(), options_.process_max, [&](std::size_t i) {
      const auto& id = snaps_[manifests_due_[i]].id;
      if (auto s = repo_.store().stat(repo::snapshot_manifest_object(id))) bytes_read_ += s->size_bytes;
      outcomes_[i] = check_manifest(repo_, id, st_);
    });
  }

  // The problems found and whom they touch: manifests that do not read or reassemble, missing
  // manifests, damaged packs with the snapshots and files that use them, then WAL objects in name
  // order (whose names are appended to damaged_wal).
  std::vector<Problem> gather_problems(std::vector<std::string>& damaged_wal) {
    for (const auto& [pn, why] : st_.bad_pack) damaged_packs_.insert(pn);
    for (const auto& [k, why] : st_.bad_frame) damaged_packs_.insert(static_cast<std::uint32_t>(k >> 32));
    for (auto pn : damaged_packs_) pack_problem(pn);
    std::vector<Problem> problems = manifest_problems();
    name_snapshots_of_damaged_packs();
    for (std::size_t i = 0; i < snaps_.size(); ++i) {
      std::string object = repo::snapshot_manifest_object(snaps_[i].id);
      if (!manifests_read_.count(i) && !manifests_present_.count(object))
        problems.push_back({object, "missing manifest " + object + " (snapshot " + snaps_[i].id + " cannot be restored)",
                            {snaps_[i].id}, {}, 0});
    }
    for (auto& [pn, p] : pack_problems_) {
      bad_objects_.insert(p.object);
      problems.push_back(std::move(p));
    }
    // In name order, whatever order they were checked in.
    std::vector<std::size_t> wal_order(wal_due_.size());
    for (std::size_t i = 0; i < wal_order.size(); ++i) wal_order[i] = i;
    std::sort(wal_order.begin(), wal_order.end(), [&](std::size_t a, std::size_t b) { return wal_due_[a] < wal_due_[b]; });
    for (std::size_t i : wal_order) {
      if (wal_errors_[i].empty()) continue;
      std::string object = repo::wal_object(wal_names_[wal_due_[i]]);
      problems.push_back({object, wal_errors_[i], {}, {}, 0});
      bad_objects_.insert(object);
      damaged_wal.push_back(wal_names_[wal_due_[i]]);
    }
    return problems;
  }

  // The problem of damaged pack pn, made on first use.
  Problem& pack_problem(std::uint32_t pn) {
    auto it = pack_problems_.find(pn);
    if (it != pack_problems_.end()) return it->second;
    Problem p;
    p.object = repo::pack_object(st_.ids[pn]);
    if (auto b = st_.bad_pack.find(pn); b != st_.bad_pack.end()) {
      p.error = (st_.missing.count(pn) ? "missing pack " : "corrupt pack ") + p.object + " (" + b->second + ")";
    } else {
      std::string frames;
      std::size_t n = 0;
      for (auto f = st_.bad_frame.lower_bound(frame_key(pn, 0)); f != st_.bad_frame.end() && (f->first >> 32) == pn;
           ++f, ++n)
        if (n < 3) frames += (frames.empty() ? "" : "; ") + f->second;
      p.error = "corrupt pack " + p.object + " (" + frames +
                (n > 3 ? "; and " + std::to_string(n - 3) + " more frames" : "") + ")";
    }
    return pack_problems_.emplace(pn, std::move(p)).first->second;
  }

  // What pass 2 found: manifests that do not read, files that do not reassemble; and which
  // snapshots and files the damaged packs reach.
  std::vector<Problem> manifest_problems() {
    std::vector<Problem> problems;
    for (std::size_t i = 0; i < manifests_due_.size(); ++i) {
      const auto& id = snaps_[manifests_due_[i]].id;
      const auto& o = outcomes_[i];
      files_ += o.files;
      files_digest_ += o.files_digest_checked;
      if (!o.error.empty()) {
        problems.push_back({repo::snapshot_manifest_object(id), o.error, {id}, {}, 0});
        bad_objects_.insert(repo::snapshot_manifest_object(id));
        continue;
      }
      for (auto pn : o.packs_used)
        if (damaged_packs_.count(pn)) pack_problem(pn).snapshots.insert(id);
      for (const auto& [pn, paths] : o.bad_pack_files) {
        Problem& p = pack_problem(pn);
        for (const auto& f : paths) {
          if (p.files.size() < kFilesNamed) p.files.push_back(id + ":" + f);
          else ++p.more_files;
        }
      }
      if (o.file_errors.empty()) continue;
      Problem p;
      p.object = repo::snapshot_manifest_object(id);
      p.error = "snapshot " + id + ": " + std::to_string(o.file_errors.size()) + " file" +
                (o.file_errors.size() == 1 ? "" : "s") + " do not reassemble (" + o.file_errors.front().first + ": " +
                o.file_errors.front().second + ")";
      p.snapshots.insert(id);
      for (const auto& [path, why] : o.file_errors) {
        if (p.files.size() < kFilesNamed) p.files.push_back(path + ": " + why);
        else ++p.more_files;
      }
      problems.push_back(std::move(p));
      bad_objects_.insert(repo::snapshot_manifest_object(id));
    }
    return problems;
  }

  // A damaged pack found while some manifests were skipped: read those too, to name every
  // snapshot the damage reaches.
  void name_snapshots_of_damaged_packs() {
    if (damaged_packs_.empty()) return;
    for (std::size_t i = 0; i < snaps_.size(); ++i) {
      if (manifests_read_.count(i)) continue;
      try {
        repo::ManifestIndex idx(repo_.store(), snaps_[i].id, repo_.key());
        for (std::uint32_t p = 0; p < idx.pack_count(); ++p) {
          auto it = st_.number.find(idx.pack_id(p));
          if (it != st_.number.end() && damaged_packs_.count(it->second))
            pack_problem(it->second).snapshots.insert(snaps_[i].id);
        }
      } catch (const Error&) {
        // Unreadable here and not due: the next run that reads it reports it.
      }
    }
  }

  // Remember what passed; forget what failed, so the next run reads it again.
  void remember() {
    if (!catalog_) return;
    std::vector<std::string> good, bad;
    for (const auto& c : due_) (bad_objects_.count(c.object) ? bad : good).push_back(c.object);
    catalog_->mark_verified(repo_.name(), good, options_.now);
    catalog_->forget_verified(repo_.name(), bad);
  }

  CheckResult result(const std::vector<Problem>& problems) const {
    CheckResult r;
    r.name = "checksums";
    double seconds = std::chrono::duration<double>(Clock::now() - t0_).count();
    double mib = static_cast<double>(bytes_read_.load()) / (1024.0 * 1024.0);
    double mib_s = seconds > 0 ? mib / seconds : 0;
    nlohmann::json pj = nlohmann::json::array();
    for (const auto& p : problems) {
      pj.push_back(problem_json(p));
      std::string msg = p.error;
      if (!p.snapshots.empty() && p.object.starts_with("packs/"))
        msg += "; affects snapshot" + std::string(p.snapshots.size() > 1 ? "s " : " ") + join(p.snapshots);
      if (!p.files.empty() && p.object.starts_with("packs/"))
        msg += "; files " + p.files.front() +
               (p.files.size() + p.more_files > 1 ? " and " + std::to_string(p.files.size() + p.more_files - 1) + " more"
                                                  : "");
      r.findings.push_back({"critical", msg});
    }
    r.details = {{"mode", options_.full ? "full" : "incremental"},
                 {"objects_total", total_},
                 {"objects_checked", due_.size()},
                 {"objects_skipped_verified", skipped_},
                 {"objects_not_sampled", not_sampled_},
                 {"sample_percent", options_.sample_percent ? nlohmann::json(*options_.sample_percent) : nlohmann::json()},
                 {"packs_checked", packs_due_.size()},
                 {"packs_decoded", packs_decoded_},
                 {"packs_authenticated", packs_authenticated_},
                 {"wal_objects_decoded", wal_decoded_},
                 {"wal_objects_authenticated", wal_authenticated_},
                 {"manifests_checked", manifests_due_.size()},
                 {"wal_objects_checked", wal_due_.size()},
                 {"blocks_checked", st_.blocks->count()},
                 {"files_reassembled", files_},
                 {"files_digest_checked", files_digest_},
                 {"bytes_read", bytes_read_.load()},
                 {"mib_per_second", mib_s},
                 {"reverify_after_seconds",
                  std::chrono::duration_cast<std::chrono::seconds>(options_.reverify_after).count()},
                 {"problems", pj}};
    r.status = problems.empty() ? CheckStatus::pass : CheckStatus::fail;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%zu of %zu objects read (%s, %.1f MiB/s), %zu skipped as verified before",
                  due_.size(), total_, human_bytes(bytes_read_.load()).c_str(), mib_s, skipped_);
    r.summary = buf;
    if (packs_authenticated_ + wal_authenticated_)
      r.summary += ", " + std::to_string(packs_authenticated_ + wal_authenticated_) +
                   " proven before and authenticated only";
    if (not_sampled_) r.summary += ", " + std::to_string(not_sampled_) + " not in the sample";
    r.summary += problems.empty() ? ", none damaged" : ", " + std::to_string(problems.size()) + " damaged";
    return r;
  }

  const repo::Repository& repo_;
  const std::vector<repo::SnapshotInfo>& snaps_;
  catalog::Catalog* catalog_;
  const ObjectCheckOptions& options_;
  const Clock::time_point t0_ = Clock::now();

  // Planning.
  PackState st_;
  std::vector<std::string> wal_names_;
  std::size_t listed_packs_ = 0;  // st_.ids[0, listed_packs_) are in the repository
  std::set<std::string> manifests_present_;
  std::vector<Candidate> due_;
  std::size_t total_ = 0, skipped_ = 0, not_sampled_ = 0;
  std::size_t packs_decoded_ = 0, packs_authenticated_ = 0;
  std::size_t wal_decoded_ = 0, wal_authenticated_ = 0;
  std::vector<bool> wal_decode_;          // by WAL name: decoded (else authenticated only)
  std::vector<std::uint32_t> packs_due_;  // largest first
  std::vector<std::size_t> manifests_due_;
  std::vector<std::size_t> wal_due_;      // largest first
  std::vector<std::uint64_t> wal_bytes_;  // by WAL name
  std::uint64_t due_bytes_ = 0;           // of the packs due

  // The passes.
  Progress* progress_ = nullptr;
  std::atomic<std::uint64_t> bytes_read_{0};
  std::vector<std::string> wal_errors_;  // by position in wal_due_
  std::vector<ManifestOutcome> outcomes_;  // by position in manifests_due_

  // The findings.
  std::set<std::size_t> manifests_read_;      // by snapshot index
  std::set<std::uint32_t> damaged_packs_;
  std::map<std::uint32_t, Problem> pack_problems_;
  std::set<std::string> bad_objects_;
  std::uint64_t files_ = 0, files_digest_ = 0;
};

}  // namespace

CheckResult check_objects(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                          const std::vector<std::string>& damaged_infos, catalog::Catalog* catalog,
                          const ObjectCheckOptions& options, std::vector<std::string>& damaged_wal) {
  return ObjectCheck(repo, snaps, catalog, options).run(damaged_infos, damaged_wal);
}

}  // namespace pgdr::verify
