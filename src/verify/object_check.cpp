// The checksums check. Three passes over the repository on process_max threads (1 and 3 from
// one queue, then 2):
//  1. packs: each read whole, once; its trailer opened, every frame authenticated and decoded,
//     every block's SHA-256 computed and its HMAC compared with the id in the frame and in the
//     trailer. The digests are kept in memory (64 bytes per block) for pass 2.
//  2. manifests: each read and checked; every file reassembled logically: its block digests,
//     taken from pass 1 (or computed for zero blocks), hashed in order and compared with the file's
//     recorded SHA-256. A block in a pack not read this run (verified before) cannot be hashed, so
//     that file's digest is checked only by a run that reads all its packs (--full, or once they
//     are due again); its pack must still exist.
//  3. WAL objects: each fetched as archive-get would, size and SHA-256 checked.
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
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "io/sha256.h"
#include "io/sha256_lanes.h"
#include "repo/block_codec.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/wal_archive.h"
#include "verify/checks.h"

namespace pgdr::verify {

namespace {

using Clock = std::chrono::steady_clock;

// WAL objects hashed side by side per task, and the most of each hashed per round (pieces of
// different objects are hashed in lockstep only as far as the shortest goes: equal pieces keep
// all four lanes busy; sealed frames hold 1 MiB).
constexpr std::size_t kWalLanes = 4;
constexpr std::size_t kWalChunkBytes = 256 * 1024;

struct BlockDigest {
  io::Digest digest;
  repo::BlockId id;
};

// (pack number, frame offset, index in frame) in one word: 24 + 32 + 8 bits.
std::uint64_t block_key(std::uint32_t pack_no, std::uint32_t offset, std::uint16_t index) {
  return (static_cast<std::uint64_t>(pack_no) << 40) | (static_cast<std::uint64_t>(offset) << 8) | index;
}
std::uint64_t frame_key(std::uint32_t pack_no, std::uint32_t offset) {
  return (static_cast<std::uint64_t>(pack_no) << 32) | offset;
}

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
  std::map<std::uint32_t, std::string> bad_pack;     // whole pack unreadable (or missing): why
  std::set<std::uint32_t> missing;                   // listed by a snapshot, absent from the repository
  std::map<std::uint64_t, std::string> bad_frame;    // frame_key -> why
  std::unordered_map<std::uint64_t, BlockDigest> blocks;
  std::mutex mu;
};

// Runs fn(i) for i in [0, n) on up to threads threads; the first exception stops the others and
// is rethrown.
template <typename Fn>
void parallel_for(std::size_t n, int threads, Fn fn) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
  auto worker = [&] {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) {
        if (interrupt_requested()) throw_if_interrupted();
        {
          std::lock_guard<std::mutex> g(mu);
          if (error) return;
        }
        fn(i);
      }
    } catch (...) {
      std::lock_guard<std::mutex> g(mu);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  int count = static_cast<int>(std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, threads))));
  for (int t = 1; t < count; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

bool is_pack_object(const std::string& path, std::string& id) {
  // packs/xx/<32 hex>
  if (path.size() != 6 + 3 + 32 || !path.starts_with("packs/") || path[8] != '/') return false;
  id = path.substr(9);
  return id.compare(0, 2, path.substr(6, 2)) == 0;
}

void check_pack(const repo::Repository& repo, std::uint32_t pack_no, PackState& st, std::atomic<std::uint64_t>& bytes_read) {
  const std::string& pack_id = st.ids[pack_no];
  std::string object = repo::pack_object(pack_id);
  std::optional<Bytes> data;
  try {
    data = repo.store().read(object);
  } catch (const Error& e) {
    // A pack that cannot be read (permissions, an I/O error) is a finding like a damaged one: the
    // snapshots that need it do not restore, and the report must say so rather than not exist.
    if (e.kind() == ErrorKind::interrupted) throw;
    std::lock_guard<std::mutex> g(st.mu);
    st.bad_pack[pack_no] = std::string("unreadable: ") + e.what();
    return;
  }
  if (!data) {
    std::lock_guard<std::mutex> g(st.mu);
    st.bad_pack[pack_no] = "vanished while being verified";
    return;
  }
  bytes_read += data->size();
  std::vector<repo::PackEntry> entries;
  try {
    entries = repo::parse_pack_trailer(*data, repo.key(), pack_id, repo.store().describe());
  } catch (const Error& e) {
    std::string why = e.what();
    if (auto p = why.find(" ("); p != std::string::npos && why.back() == ')') why = why.substr(p + 2, why.size() - p - 3);
    std::lock_guard<std::mutex> g(st.mu);
    st.bad_pack[pack_no] = why;
    return;
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.offset != b.offset ? a.offset < b.offset : a.index < b.index; });
  repo::BlockCodec codec(repo.key(), io::Codec::none, 0);
  std::vector<std::pair<std::uint64_t, BlockDigest>> found;
  std::vector<std::pair<std::uint64_t, std::string>> bad;
  std::vector<repo::BlockId> ids;
  std::vector<ByteView> blocks;
  std::vector<io::Digest> digests;
  Bytes plain;  // reused; the frame's plaintext is its first plain_bytes bytes
  std::uint32_t block_bytes = repo.settings().block_bytes;
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t j = i;
    while (j < entries.size() && entries[j].offset == entries[i].offset) ++j;
    const auto& first = entries[i];
    try {
      if (first.length == 0 || static_cast<std::uint64_t>(first.offset) + first.length > data->size())
        throw Error(ErrorKind::corrupt, "frame beyond the pack");
      const std::size_t plain_bytes = codec.open_frame_to(ByteView(data->data() + first.offset, first.length), ids, plain);
      if (ids.size() != j - i) throw Error(ErrorKind::corrupt, "frame holds " + std::to_string(ids.size()) +
                                                                   " blocks, the trailer lists " + std::to_string(j - i));
      std::size_t pos = 0;
      blocks.clear();
      for (std::size_t k = 0; k < ids.size(); ++k) {
        const auto& e = entries[i + k];
        if (e.index != k) throw Error(ErrorKind::corrupt, "trailer lists the frame's blocks out of order");
        std::size_t len = std::min<std::size_t>(block_bytes, plain_bytes - pos);
        if (len != e.raw_length) throw Error(ErrorKind::corrupt, "block " + std::to_string(k) + " has the wrong length");
        blocks.emplace_back(plain.data() + pos, len);
        pos += len;
      }
      // The frame's blocks are hashed side by side (see io/sha256_lanes.h), then each digest's
      // HMAC is compared with the ids in the frame and in the trailer.
      digests.resize(blocks.size());
      io::sha256_many(blocks, digests);
      for (std::size_t k = 0; k < ids.size(); ++k) {
        const auto& e = entries[i + k];
        repo::BlockId id = codec.id_of_digest(digests[k]);
        if (id != ids[k] || id != e.id)
          throw Error(ErrorKind::corrupt, "block " + std::to_string(k) + " does not match its id");
        found.push_back({block_key(pack_no, e.offset, e.index), {digests[k], id}});
      }
      if (pos != plain_bytes) throw Error(ErrorKind::corrupt, "frame longer than its blocks");
    } catch (const Error& e) {
      bad.push_back({frame_key(pack_no, first.offset),
                     "frame at offset " + std::to_string(first.offset) + ": " + std::string(e.what())});
    }
    i = j;
  }
  std::lock_guard<std::mutex> g(st.mu);
  for (auto& [k, v] : found) st.blocks.emplace(k, v);
  for (auto& [k, why] : bad) st.bad_frame.emplace(k, why);
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
  std::uint32_t bs = idx->block_bytes();
  // Pack numbers of this manifest -> the run's pack numbers (UINT32_MAX: not in the repository).
  std::vector<std::uint32_t> map(idx->pack_count(), UINT32_MAX);
  for (std::uint32_t p = 0; p < idx->pack_count(); ++p) {
    auto it = st.number.find(idx->pack_id(p));
    if (it != st.number.end()) map[p] = it->second;
  }
  std::map<std::size_t, io::Digest> zero_digest;
  io::Sha256 file_hash;
  for (const auto& e : idx->entries()) {
    if (e.file.type != repo::EntryType::file) continue;
    ++out.files;
    auto refs = idx->blocks(e);
    bool digest_known = true;
    std::string file_error;
    for (std::size_t i = 0; i < refs.size() && file_error.empty(); ++i) {
      const auto& ref = refs[i];
      std::size_t len = (i + 1 == refs.size() && e.file.size_bytes % bs) ? e.file.size_bytes % bs : bs;
      if (ref.is_zero() && idx->digest_over_ids()) {
        file_hash.update(repo::BlockId{});
        continue;
      }
      if (ref.is_zero()) {
        auto z = zero_digest.find(len);
        if (z == zero_digest.end()) z = zero_digest.emplace(len, io::Sha256::of(Bytes(len, 0))).first;
        file_hash.update(z->second);
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
      auto it = st.blocks.find(block_key(pn, ref.offset, ref.index));
      if (it == st.blocks.end()) {
        file_error = "block " + std::to_string(i) + " is not in pack " + st.ids[pn] + " at offset " +
                     std::to_string(ref.offset) + " index " + std::to_string(ref.index);
        break;
      }
      if (it->second.id != ref.id) {
        file_error = "block " + std::to_string(i) + " in pack " + st.ids[pn] + " is not the block the manifest names";
        break;
      }
      if (idx->digest_over_ids())
        file_hash.update(ref.id);
      else
        file_hash.update(it->second.digest);
    }
    io::Digest d = file_hash.finish();
    if (!file_error.empty()) {
      if (file_error != "-") out.file_errors.push_back({e.file.path, file_error});
      continue;
    }
    if (!digest_known) continue;
    ++out.files_digest_checked;
    if (to_hex(d) != e.file.sha256)
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

}  // namespace

CheckResult check_objects(const repo::Repository& repo, const std::vector<repo::SnapshotInfo>& snaps,
                          const std::vector<std::string>& damaged_infos, catalog::Catalog* catalog,
                          const ObjectCheckOptions& options, std::vector<std::string>& damaged_wal) {
  constexpr std::size_t kFilesNamed = 10;
  auto t0 = Clock::now();
  CheckResult r;
  r.name = "checksums";
  const std::string& repo_name = repo.name();

  PackState st;
  std::vector<std::string> wal_names;
  for (const auto& o : repo.store().list(repo::kPacksDir)) {
    std::string id;
    if (is_pack_object(o.path, id)) {
      st.number[id] = static_cast<std::uint32_t>(st.ids.size());
      st.ids.push_back(id);
    }
  }
  for (const auto& o : repo.store().list(repo::kWalDir)) {
    std::string name = o.path.substr(o.path.rfind('/') + 1);
    if (repo::classify_wal_file(name) && repo::wal_object(name) == o.path) wal_names.push_back(name);
  }
  std::sort(wal_names.begin(), wal_names.end());
  // Packs a snapshot lists but the repository lacks: found even when every object that exists
  // was verified before.
  const std::size_t listed_packs = st.ids.size();
  for (const auto& s : snaps)
    for (const auto& id : s.packs)
      if (!st.number.count(id)) {
        auto pn = static_cast<std::uint32_t>(st.ids.size());
        st.number[id] = pn;
        st.ids.push_back(id);
        st.missing.insert(pn);
        st.bad_pack[pn] = "snapshot " + s.id + " lists it, the repository does not hold it";
      }
  std::set<std::string> manifests_present;
  for (const auto& o : repo.store().list(repo::kSnapshotsDir)) manifests_present.insert(o.path);
  st.read_now.assign(st.ids.size(), false);

  // Which objects are due.
  struct Candidate {
    int kind;  // 0 pack, 1 manifest, 2 wal
    std::size_t index;
    std::string object;
  };
  std::vector<Candidate> due;
  std::size_t skipped = 0, total = 0;
  auto consider = [&](int kind, std::size_t index, const std::string& object) {
    ++total;
    if (!options.full && catalog) {
      auto when = catalog->verified_at(repo_name, object);
      if (when && options.now - *when < options.reverify_after) {
        ++skipped;
        return;
      }
    }
    due.push_back({kind, index, object});
  };
  for (std::size_t i = 0; i < listed_packs; ++i) consider(0, i, repo::pack_object(st.ids[i]));
  for (std::size_t i = 0; i < snaps.size(); ++i) consider(1, i, repo::snapshot_manifest_object(snaps[i].id));
  for (std::size_t i = 0; i < wal_names.size(); ++i) consider(2, i, repo::wal_object(wal_names[i]));
  std::size_t not_sampled = 0;
  if (options.sample_percent && !due.empty()) {
    std::mt19937_64 rng(std::random_device{}());
    std::shuffle(due.begin(), due.end(), rng);
    auto keep = static_cast<std::size_t>(std::ceil(static_cast<double>(due.size()) * *options.sample_percent / 100.0));
    keep = std::clamp<std::size_t>(keep, 1, due.size());
    not_sampled = due.size() - keep;
    due.resize(keep);
  }
  std::vector<std::uint32_t> packs_due;
  std::vector<std::size_t> manifests_due, wal_due;
  for (const auto& c : due) {
    if (c.kind == 0) {
      packs_due.push_back(static_cast<std::uint32_t>(c.index));
      st.read_now[c.index] = true;
    } else if (c.kind == 1) {
      manifests_due.push_back(c.index);
    } else {
      wal_due.push_back(c.index);
    }
  }
  std::sort(packs_due.begin(), packs_due.end());
  std::sort(manifests_due.begin(), manifests_due.end());

  std::atomic<std::uint64_t> bytes_read{0};
  std::uint64_t due_bytes = 0;
  std::unordered_map<std::uint32_t, std::uint64_t> pack_bytes;
  for (auto p : packs_due) {
    auto s = repo.store().stat(repo::pack_object(st.ids[p]));
    pack_bytes[p] = s ? s->size_bytes : 0;
    due_bytes += pack_bytes[p];
  }
  // Largest first: the last pack a thread takes is then a small one, and threads finish together.
  std::stable_sort(packs_due.begin(), packs_due.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return pack_bytes.at(a) > pack_bytes.at(b); });
  Progress progress("verify", due_bytes);

  // Passes 1 and 3 share one queue (packs, largest first, then WAL objects in groups): they do not
  // depend on each other, and one queue keeps every thread busy to the end. A group's objects are
  // read piecewise and hashed side by side (see io/sha256_lanes.h): a single SHA-256 stream
  // cannot use the CPU's full hashing throughput.
  // WAL objects of like size share a group (a segment's lane then does not run alone beside a
  // history file's), largest first.
  std::vector<std::uint64_t> wal_bytes(wal_names.size(), 0);
  for (auto i : wal_due) {
    try {
      if (auto s = repo.store().stat(repo::wal_object(wal_names[i]))) wal_bytes[i] = s->size_bytes;
    } catch (const Error&) {
      // Reported by the check itself, which opens the object.
    }
  }
  std::stable_sort(wal_due.begin(), wal_due.end(), [&](std::size_t a, std::size_t b) { return wal_bytes[a] > wal_bytes[b]; });
  std::vector<std::string> wal_errors(wal_due.size());
  auto check_wal_group = [&](std::size_t group) {
    const std::size_t first = group * kWalLanes;
    const std::size_t n = std::min(kWalLanes, wal_due.size() - first);
    std::vector<std::optional<repo::WalObjectReader>> readers(n);
    std::vector<Bytes> heads(n);  // each object's first bytes, for repo::wal_file_problem
    auto fail = [&](std::size_t k, const std::string& why) {
      wal_errors[first + k] = why;
      readers[k].reset();
    };
    for (std::size_t k = 0; k < n; ++k) {
      const auto& name = wal_names[wal_due[first + k]];
      try {
        bytes_read += wal_bytes[wal_due[first + k]];
        readers[k] = repo::WalObjectReader::open(repo, name);
        if (!readers[k]) fail(k, "missing WAL object " + repo::wal_object(name) + " (vanished)");
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
          const auto& name = wal_names[wal_due[first + k]];
          if (pieces[k].empty()) {
            readers[k]->finish(lanes.finish(k));
            const std::uint64_t size = readers[k]->size_bytes();
            readers[k].reset();
            if (auto problem = repo::wal_file_problem(name, heads[k], size, options.known))
              fail(k, "invalid WAL object " + repo::wal_object(name) + " in " + repo.describe() + " (" + *problem + ")");
            continue;
          }
          const std::size_t want = repo::wal_check_prefix_bytes(*repo::classify_wal_file(name));
          if (heads[k].size() < want)
            heads[k].insert(heads[k].end(), pieces[k].begin(),
                            pieces[k].begin() + static_cast<std::ptrdiff_t>(std::min(want - heads[k].size(), pieces[k].size())));
          reading = true;
        } catch (const Error& e) {
          pieces[k] = {};
          fail(k, e.what());
        }
      }
      lanes.update(pieces);
    }
  };
  const std::size_t wal_groups = (wal_due.size() + kWalLanes - 1) / kWalLanes;
  parallel_for(packs_due.size() + wal_groups, options.process_max, [&](std::size_t i) {
    if (i >= packs_due.size()) return check_wal_group(i - packs_due.size());
    std::uint64_t before = bytes_read.load();
    check_pack(repo, packs_due[i], st, bytes_read);
    progress.add(bytes_read.load() - before);
  });

  // Pass 2: manifests and logical reassembly, once every pack's digests are known.
  std::vector<ManifestOutcome> outcomes(manifests_due.size());
  parallel_for(manifests_due.size(), options.process_max, [&](std::size_t i) {
    const auto& id = snaps[manifests_due[i]].id;
    if (auto s = repo.store().stat(repo::snapshot_manifest_object(id))) bytes_read += s->size_bytes;
    outcomes[i] = check_manifest(repo, id, st);
  });
  progress.finish();

  // Gather the problems and who they touch.
  std::vector<Problem> problems;
  std::map<std::uint32_t, Problem> pack_problems;
  auto pack_problem = [&](std::uint32_t pn) -> Problem& {
    auto it = pack_problems.find(pn);
    if (it != pack_problems.end()) return it->second;
    Problem p;
    p.object = repo::pack_object(st.ids[pn]);
    if (auto b = st.bad_pack.find(pn); b != st.bad_pack.end()) {
      p.error = (st.missing.count(pn) ? "missing pack " : "corrupt pack ") + p.object + " (" + b->second + ")";
    } else {
      std::string frames;
      std::size_t n = 0;
      for (auto f = st.bad_frame.lower_bound(frame_key(pn, 0)); f != st.bad_frame.end() && (f->first >> 32) == pn; ++f, ++n)
        if (n < 3) frames += (frames.empty() ? "" : "; ") + f->second;
      p.error = "corrupt pack " + p.object + " (" + frames + (n > 3 ? "; and " + std::to_string(n - 3) + " more frames" : "") + ")";
    }
    return pack_problems.emplace(pn, std::move(p)).first->second;
  };
  std::set<std::uint32_t> damaged_packs;
  for (const auto& [pn, why] : st.bad_pack) damaged_packs.insert(pn);
  for (const auto& [k, why] : st.bad_frame) damaged_packs.insert(static_cast<std::uint32_t>(k >> 32));
  for (auto pn : damaged_packs) pack_problem(pn);

  std::set<std::string> bad_objects;
  std::uint64_t files = 0, files_digest = 0;
  std::set<std::size_t> manifests_read(manifests_due.begin(), manifests_due.end());
  for (std::size_t i = 0; i < manifests_due.size(); ++i) {
    const auto& id = snaps[manifests_due[i]].id;
    const auto& o = outcomes[i];
    files += o.files;
    files_digest += o.files_digest_checked;
    if (!o.error.empty()) {
      problems.push_back({repo::snapshot_manifest_object(id), o.error, {id}, {}, 0});
      bad_objects.insert(repo::snapshot_manifest_object(id));
      continue;
    }
    for (auto pn : o.packs_used)
      if (damaged_packs.count(pn)) pack_problem(pn).snapshots.insert(id);
    for (const auto& [pn, paths] : o.bad_pack_files) {
      Problem& p = pack_problem(pn);
      for (const auto& f : paths) {
        if (p.files.size() < kFilesNamed) p.files.push_back(id + ":" + f);
        else ++p.more_files;
      }
    }
    if (!o.file_errors.empty()) {
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
      bad_objects.insert(repo::snapshot_manifest_object(id));
    }
  }
  // A damaged pack found while some manifests were skipped: read those too, to name every
  // snapshot the damage reaches.
  if (!damaged_packs.empty()) {
    for (std::size_t i = 0; i < snaps.size(); ++i) {
      if (manifests_read.count(i)) continue;
      try {
        repo::ManifestIndex idx(repo.store(), snaps[i].id, repo.key());
        for (std::uint32_t p = 0; p < idx.pack_count(); ++p) {
          auto it = st.number.find(idx.pack_id(p));
          if (it != st.number.end() && damaged_packs.count(it->second)) pack_problem(it->second).snapshots.insert(snaps[i].id);
        }
      } catch (const Error&) {
        // Unreadable here and not due: the next run that reads it reports it.
      }
    }
  }
  for (std::size_t i = 0; i < snaps.size(); ++i) {
    std::string object = repo::snapshot_manifest_object(snaps[i].id);
    if (!manifests_read.count(i) && !manifests_present.count(object))
      problems.push_back({object, "missing manifest " + object + " (snapshot " + snaps[i].id + " cannot be restored)",
                          {snaps[i].id}, {}, 0});
  }
  for (auto& [pn, p] : pack_problems) {
    bad_objects.insert(p.object);
    problems.push_back(std::move(p));
  }
  // In name order, whatever order they were checked in.
  std::vector<std::size_t> wal_order(wal_due.size());
  for (std::size_t i = 0; i < wal_order.size(); ++i) wal_order[i] = i;
  std::sort(wal_order.begin(), wal_order.end(), [&](std::size_t a, std::size_t b) { return wal_due[a] < wal_due[b]; });
  for (std::size_t i : wal_order) {
    if (wal_errors[i].empty()) continue;
    std::string object = repo::wal_object(wal_names[wal_due[i]]);
    problems.push_back({object, wal_errors[i], {}, {}, 0});
    bad_objects.insert(object);
    damaged_wal.push_back(wal_names[wal_due[i]]);
  }
  for (const auto& d : damaged_infos) problems.push_back({"", d, {}, {}, 0});

  // Remember what passed; forget what failed, so the next run reads it again.
  if (catalog) {
    std::vector<std::string> good, bad;
    for (const auto& c : due) (bad_objects.count(c.object) ? bad : good).push_back(c.object);
    catalog->mark_verified(repo_name, good, options.now);
    catalog->forget_verified(repo_name, bad);
  }

  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  double mib = static_cast<double>(bytes_read.load()) / (1024.0 * 1024.0);
  double mib_s = seconds > 0 ? mib / seconds : 0;
  nlohmann::json pj = nlohmann::json::array();
  for (const auto& p : problems) {
    pj.push_back(problem_json(p));
    std::string msg = p.error;
    if (!p.snapshots.empty() && p.object.starts_with("packs/")) msg += "; affects snapshot" + std::string(p.snapshots.size() > 1 ? "s " : " ") + join(p.snapshots);
    if (!p.files.empty() && p.object.starts_with("packs/")) msg += "; files " + p.files.front() + (p.files.size() + p.more_files > 1 ? " and " + std::to_string(p.files.size() + p.more_files - 1) + " more" : "");
    r.findings.push_back({"critical", msg});
  }
  r.details = {{"mode", options.full ? "full" : "incremental"},
               {"objects_total", total},
               {"objects_checked", due.size()},
               {"objects_skipped_verified", skipped},
               {"objects_not_sampled", not_sampled},
               {"sample_percent", options.sample_percent ? nlohmann::json(*options.sample_percent) : nlohmann::json()},
               {"packs_checked", packs_due.size()},
               {"manifests_checked", manifests_due.size()},
               {"wal_objects_checked", wal_due.size()},
               {"blocks_checked", st.blocks.size()},
               {"files_reassembled", files},
               {"files_digest_checked", files_digest},
               {"bytes_read", bytes_read.load()},
               {"mib_per_second", mib_s},
               {"reverify_after_seconds", std::chrono::duration_cast<std::chrono::seconds>(options.reverify_after).count()},
               {"problems", pj}};
  r.status = problems.empty() ? CheckStatus::pass : CheckStatus::fail;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%zu of %zu objects read (%s, %.1f MiB/s), %zu skipped as verified before", due.size(),
                total, human_bytes(bytes_read.load()).c_str(), mib_s, skipped);
  r.summary = buf;
  if (not_sampled) r.summary += ", " + std::to_string(not_sampled) + " not in the sample";
  r.summary += problems.empty() ? ", none damaged" : ", " + std::to_string(problems.size()) + " damaged";
  return r;
}

}  // namespace pgdr::verify
