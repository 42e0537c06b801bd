#include "restore/restore.h"
#include "restore/snapshot_choice.h"
#include "restore/target_guard.h"
#include "restore/target_lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/path.h"
#include "core/progress.h"
#include "io/sha256.h"
#include "io/sha256_lanes.h"
#include "repo/block_codec.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "core/log.h"
#include "pg/lsn.h"
#include "repo/pack.h"
#include "repo/wal_archive.h"

namespace pgdr::restore {

namespace {

using repo::BlockRef;
using repo::EntryType;
using repo::ManifestIndex;

constexpr std::uint64_t kSliceBlocks = 1024;          // refs handled per step of a file (8 MiB)
constexpr std::uint64_t kWorkSliceBlocks = 8192;      // blocks per work item (64 MiB) shared out
constexpr std::uint64_t kMaxCoalescedRead = 8u << 20;  // one ranged read of neighbouring frames
constexpr int kSyncThreads = 16;
// A buffer reused slice after slice by one thread: fetch() fills every byte it hands out, so
// nothing is cleared between slices.
class SliceBuffer {
 public:
  std::uint8_t* data() { return data_.get(); }
  void reserve(std::uint64_t size) {
    if (size > capacity_) {
      data_ = std::make_unique_for_overwrite<std::uint8_t[]>(size);
      capacity_ = size;
    }
  }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::uint64_t capacity_ = 0;
};

SliceBuffer& plain_buffer() {
  thread_local SliceBuffer buffer;
  return buffer;
}                       // fdatasync calls in flight at the end
// Written last: PostgreSQL will not start a data directory without it, so an interrupted restore
// can never be mistaken for a complete one.
constexpr std::string_view kControlFile = "global/pg_control";

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_location(const std::string& snapshot, const std::string& location) {
  if (location.empty() || location.front() != '/' || location.find("/../") != std::string::npos ||
      location.ends_with("/..") || location.find("/./") != std::string::npos)
    throw Error(ErrorKind::corrupt, "refusing tablespace location '" + location + "' in snapshot " + snapshot +
                                        " (not a plain absolute path)");
}

// A repository holding the snapshot being restored. The first one's manifest is read before the
// restore starts; the others' only when a block has to be read from them.
struct SnapshotSource {
  const repo::Repository* repo = nullptr;
  std::mutex mu;
  bool tried = false;  // whether the manifest was read (index set) or failed (index null)
  std::unique_ptr<ManifestIndex> index;
};

class Restorer {
 public:
  Restorer(std::vector<std::unique_ptr<SnapshotSource>>& sources, const RestoreOptions& opt,
           const repo::SnapshotInfo& info)
      : sources_(sources), opt_(opt), info_(info), index_(*sources.front()->index) {}

  RestoreResult run() {
    auto started = std::chrono::steady_clock::now();
    resolve_target();
    plan();
    prepare_target();
    make_directories();
    make_tablespace_links();
    if (opt_.delta) remove_extras();

    std::vector<const ManifestIndex::Entry*> files, last;
    std::uint64_t total = 0;
    for (const auto& e : index_.entries()) {
      if (e.file.type != EntryType::file) continue;
      (e.file.path == kControlFile ? last : files).push_back(&e);
      total += e.file.size_bytes;
    }
    if (last.empty())
      throw Error(ErrorKind::corrupt, "snapshot " + info_.id + " has no " + std::string(kControlFile) +
                                          " (not a PostgreSQL data directory)");
    Progress progress("restore", total);
    progress_ = &progress;
    run_files(files);
    sync_written_files();
    sync_directories();
    if (opt_.recovery_settings) {
      RecoveryTarget target = opt_.target;
      if (target.archive_get) target.archive_get->wal_segment_bytes = info_.wal_segment_bytes;
      write_recovery_settings(target_, target, info_.id);
    }
    run_files(last);
    sync_written_files();
    sync_directories();
    lock_->finish();
    progress.finish();
    result_.info = info_;
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result_;
  }

 private:
  void resolve_target() {
    target_ = opt_.target_dir;
    if (target_.empty() || target_.front() != '/') {
      char cwd[PATH_MAX];
      if (!getcwd(cwd, sizeof cwd)) throw_errno("unable to read the working directory", ".", errno);
      target_ = std::string(cwd) + "/" + target_;
    }
    while (target_.size() > 1 && target_.back() == '/') target_.pop_back();
  }

  // Runs after plan(), which has kept the target off running clusters. The lock comes before the
  // emptiness check, so that a second restore started alongside is told "locked", not "non-empty".
  void prepare_target() {
    struct stat st;
    if (lstat(target_.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, "restore target is not a directory: " + target_);
    } else {
      pgdr::make_directories(target_, 0700);
    }
    lock_.emplace(TargetLock::acquire(target_));
    if (!opt_.delta && !empty_but_lock(target_))
      throw Error(ErrorKind::io, "refusing to restore into a non-empty directory: " + target_,
                  "restore into an empty directory, or pass --delta to bring this one in line");
    if (opt_.delta) {
      if (auto why = delta_refusal(target_, info_.system_identifier, lock_->unfinished_system_identifier()))
        throw Error(ErrorKind::io, "refusing --delta into a directory that is not this cluster's: " + target_ + " (" +
                                       *why + ")",
                    "--delta brings in line only an empty directory or a data directory of the snapshot's own "
                    "cluster (system identifier " + info_.system_identifier + "); restore into an empty directory");
    }
    lock_->mark_writing(info_.id, info_.system_identifier);
    if (opt_.delta) {
      // Until the restore completes, the directory must not look startable.
      std::string control = target_ + "/" + std::string(kControlFile);
      if (unlink(control.c_str()) == 0) fsync_directory(control.substr(0, control.rfind('/')));
      else if (errno != ENOENT) throw_errno("unable to remove", control, errno);
    }
  }

  // Every directory this restore would write, checked against every cluster running on this host
  // (restore/live_clusters.h) before anything is written, with or without --delta.
  void refuse_live_clusters() {
    LiveClusterSearch search;
    search.directories = {opt_.source_data_dir, target_};
    for (const auto& [oid, location] : tablespaces_) search.directories.push_back(location);
    std::vector<LiveCluster> live = find_live_clusters(search);
    for (const auto& [oid, location] : tablespaces_) refuse_live_location(live, oid, resolved_path(location));
    refuse_live_target(live, resolved_path(target_));
  }

  // Decides where every entry goes before anything is written.
  void plan() {
    for (const auto& e : index_.entries()) {
      if (e.file.type != EntryType::symlink) continue;
      const std::string& p = e.file.path;
      if (!p.starts_with("pg_tblspc/") || !all_digits(p.substr(10)))
        throw Error(ErrorKind::corrupt, "refusing symbolic link '" + p + "' in snapshot " + info_.id +
                                            " (links are only restored for tablespaces)");
      std::string oid = p.substr(10);
      std::string location = e.file.link_target;
      if (auto it = opt_.tablespace_map.find(oid); it != opt_.tablespace_map.end()) location = it->second;
      else if (auto it2 = opt_.tablespace_map.find(location); it2 != opt_.tablespace_map.end()) location = it2->second;
      check_location(info_.id, location);
      tablespaces_[oid] = location;
    }
    refuse_live_clusters();
    for (const auto& [oid, location] : tablespaces_) {
      struct stat st;
      if (lstat(location.c_str(), &st) != 0) continue;
      if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, "tablespace location is not a directory: " + location);
      if (empty_but_lock(location)) continue;
      const std::string hint = "map it elsewhere with --tablespace-map " + oid + "=DIR";
      if (!opt_.delta)
        throw Error(ErrorKind::io, "refusing to restore tablespace " + oid + " into a non-empty directory: " + location,
                    hint);
      // Delta rewrites and prunes a location: only the one the target's own link names is the
      // target's; any other may hold another cluster's tablespace, running or not.
      if (resolved_path(target_ + "/pg_tblspc/" + oid) != resolved_path(location))
        throw Error(ErrorKind::io,
                    "refusing to restore tablespace " + oid + " into a non-empty directory: " + location +
                        " (the target's pg_tblspc/" + oid + " does not link there)",
                    hint);
    }
  }

  std::string destination(const std::string& path) const {
    if (path.starts_with("pg_tblspc/")) {
      std::size_t slash = path.find('/', 10);
      if (slash != std::string::npos) {
        auto it = tablespaces_.find(path.substr(10, slash - 10));
        if (it != tablespaces_.end()) return it->second + path.substr(slash);
        throw Error(ErrorKind::corrupt, "refusing '" + path + "' in snapshot " + info_.id + " (under no tablespace)");
      }
    }
    return target_ + "/" + path;
  }

  void make_directories() {
    std::vector<const ManifestIndex::Entry*> dirs;
    for (const auto& e : index_.entries())
      if (e.file.type == EntryType::directory) dirs.push_back(&e);
    std::sort(dirs.begin(), dirs.end(), [](auto* a, auto* b) { return a->file.path < b->file.path; });
    for (const auto* d : dirs) {
      if (d->file.path.starts_with("pg_tblspc/") && d->file.path.find('/', 10) != std::string::npos) continue;
      mkdir_in_target(destination(d->file.path), d->file.mode);
    }
  }

  void mkdir_in_target(const std::string& dir, std::uint32_t mode) {
    struct stat st;
    if (lstat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return;
      if (!opt_.delta) throw Error(ErrorKind::io, "unexpected file in the restore target: " + dir);
      if (unlink(dir.c_str()) != 0) throw_errno("unable to remove", dir, errno);
    }
    if (::mkdir(dir.c_str(), static_cast<mode_t>(mode & 0750)) != 0 && errno != EEXIST)
      throw_errno("unable to create directory", dir, errno);
    dirs_to_sync_.insert(dir);
    dirs_to_sync_.insert(dir.substr(0, dir.rfind('/')));
  }

  void make_tablespace_links() {
    for (const auto& [oid, location] : tablespaces_) {
      struct stat st;
      if (lstat(location.c_str(), &st) != 0) pgdr::make_directories(location, 0700);
      std::string link = target_ + "/pg_tblspc/" + oid;
      if (lstat(link.c_str(), &st) == 0) {
        if (!opt_.delta) throw Error(ErrorKind::io, "unexpected file in the restore target: " + link);
        if (unlink(link.c_str()) != 0) throw_errno("unable to remove", link, errno);
      }
      if (symlink(location.c_str(), link.c_str()) != 0) throw_errno("unable to create link", link, errno);
      dirs_to_sync_.insert(target_ + "/pg_tblspc");
      // Sorted by path, so each parent comes before its children: manifest entries are in the
      // order backup workers finished them.
      const std::string prefix = "pg_tblspc/" + oid + "/";
      std::vector<const ManifestIndex::Entry*> dirs;
      for (const auto& e : index_.entries())
        if (e.file.type == EntryType::directory && e.file.path.starts_with(prefix)) dirs.push_back(&e);
      std::sort(dirs.begin(), dirs.end(), [](auto* a, auto* b) { return a->file.path < b->file.path; });
      for (const auto* d : dirs) mkdir_in_target(destination(d->file.path), d->file.mode);
      dirs_to_sync_.insert(location);
    }
  }

  // Delta mode: whatever the snapshot does not hold goes, so recovery sees only the snapshot.
  void remove_extras() {
    std::set<std::string> wanted;
    for (const auto& e : index_.entries()) wanted.insert(destination(e.file.path));
    wanted.insert(target_ + "/" + std::string(TargetLock::kFileName));
    // In a tablespace location only this server version's directory is ours: another version's
    // data may share the location.
    std::vector<std::string> roots = {target_};
    for (const auto& e : index_.entries()) {
      const std::string& p = e.file.path;
      if (e.file.type == EntryType::directory && p.starts_with("pg_tblspc/") &&
          std::count(p.begin(), p.end(), '/') == 2)
        roots.push_back(destination(p));
    }
    for (const auto& root : roots) prune(root, wanted);
  }

  void prune(const std::string& dir, const std::set<std::string>& wanted) {
    DIR* d = opendir(dir.c_str());
    if (!d) throw_errno("unable to read directory", dir, errno);
    std::vector<std::string> names;
    while (struct dirent* de = readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    for (const auto& n : names) {
      std::string p = dir + "/" + n;
      struct stat st;
      if (lstat(p.c_str(), &st) != 0) continue;
      bool keep = wanted.count(p) > 0;
      if (keep && S_ISDIR(st.st_mode)) {
        prune(p, wanted);
        continue;
      }
      if (keep) continue;
      remove_tree(p);
      ++result_.files_removed;
      dirs_to_sync_.insert(dir);
    }
  }

  // One file being restored, shared by the workers that restore its slices.
  struct FileJob {
    const ManifestIndex::Entry* entry = nullptr;
    std::string dest;
    std::once_flag opened;
    File out;
    bool existed = false;
    std::uint64_t local_size = 0;
    std::vector<io::Digest> digests;  // one per block, for the file digest
    std::atomic<std::size_t> slices_left{0};
    std::atomic<bool> changed{false};
  };

  struct SliceJob {
    FileJob* file;
    std::uint64_t first_block;
    std::uint64_t blocks;
  };

  // Files are cut into slices that any worker may take, largest files first, so that two workers
  // share a big file instead of one of them finishing it alone.
  void run_files(const std::vector<const ManifestIndex::Entry*>& files) {
    std::vector<const ManifestIndex::Entry*> order = files;
    std::stable_sort(order.begin(), order.end(),
                     [](auto* a, auto* b) { return a->file.size_bytes > b->file.size_bytes; });
    std::vector<std::unique_ptr<FileJob>> jobs;
    std::vector<SliceJob> slices;
    for (const auto* e : order) {
      auto job = std::make_unique<FileJob>();
      job->entry = e;
      job->dest = destination(e->file.path);
      std::uint64_t n = e->file.block_count;
      std::size_t count = 0;
      for (std::uint64_t first = 0; first < n || (n == 0 && first == 0); first += kWorkSliceBlocks) {
        slices.push_back({job.get(), first, std::min<std::uint64_t>(kWorkSliceBlocks, n - first)});
        ++count;
        if (n == 0) break;
      }
      job->slices_left = count;
      jobs.push_back(std::move(job));
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    int n = std::max(1, std::min<int>(opt_.process_max, static_cast<int>(slices.size())));
    for (int t = 0; t < n; ++t) {
      threads.emplace_back([&] {
        try {
          // One codec per repository (each has its own keys), made when first needed.
          std::vector<std::unique_ptr<repo::BlockCodec>> codecs(sources_.size());
          for (std::size_t i; !failed_.load() && (i = next.fetch_add(1)) < slices.size();) {
            throw_if_interrupted();
            restore_slice(codecs, slices[i]);
          }
        } catch (...) {
          std::lock_guard lock(mu_);
          if (!error_) error_ = std::current_exception();
          failed_ = true;
        }
      });
    }
    for (auto& t : threads) t.join();
    if (error_) std::rethrow_exception(error_);
  }

  void open_file(FileJob& job) {
    int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
    if (opt_.delta) {
      struct stat st;
      job.existed = lstat(job.dest.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    } else {
      flags |= O_EXCL;
    }
    // Buffered writes with early writeback beat O_DIRECT here: measured on the benchmark machine,
    // direct writes block each worker on the device and restore slower unless many more threads run.
    int fd = ::open(job.dest.c_str(), flags, 0600);
    if (fd < 0) throw_errno("unable to create", job.dest, errno);
    job.out = File::adopt(fd, job.dest);
    job.local_size = job.existed ? job.out.size() : 0;
    job.digests.resize(job.entry->file.block_count);
    if (!job.existed || job.local_size != job.entry->file.size_bytes) job.changed = true;
  }

  void restore_slice(std::vector<std::unique_ptr<repo::BlockCodec>>& codecs, const SliceJob& slice) {
    FileJob& job = *slice.file;
    std::call_once(job.opened, [&] { open_file(job); });
    const auto& f = job.entry->file;
    const std::uint64_t block = index_.block_bytes();
    File& out = job.out;
    SliceBuffer& plain = plain_buffer();
    Bytes local;
    std::size_t local_got = 0;
    std::vector<bool> same, zero;
    const std::uint64_t end_block = slice.first_block + slice.blocks;
    for (std::uint64_t first = slice.first_block; first < end_block; first += kSliceBlocks) {
      std::uint64_t count = std::min(kSliceBlocks, end_block - first);
      std::uint64_t slice_offset = first * block;
      std::uint64_t slice_bytes = std::min<std::uint64_t>(count * block, f.size_bytes - slice_offset);
      if (job.existed) {
        local.resize(slice_bytes);
        local_got = out.read_at(local.data(), slice_bytes, slice_offset);
      }
      plain.reserve(slice_bytes);
      load_slice(codecs, *job.entry, first, count, slice_bytes, job.existed ? &local : nullptr, local_got,
                 plain.data(), same, zero, job.digests);
      // Write runs of blocks that differ from what is on disk (everything for a new file, except
      // zero blocks: a fresh file reads as zeroes where nothing was written).
      std::size_t i = 0;
      while (i < count) {
        if (same[i] || (!job.existed && zero[i])) {
          ++i;
          continue;
        }
        std::size_t j = i;
        while (j < count && !(same[j] || (!job.existed && zero[j]))) ++j;
        std::uint64_t off = i * block, end = std::min<std::uint64_t>(j * block, slice_bytes);
        out.pwrite_all(ByteView(plain.data() + off, end - off), slice_offset + off);
        result_bytes_ += end - off;
        job.changed = true;
        i = j;
      }
      // Start writing back now, so the final fdatasync waits for little: disk and CPU overlap.
      sync_file_range(out.fd(), static_cast<off64_t>(slice_offset), static_cast<off64_t>(slice_bytes),
                      SYNC_FILE_RANGE_WRITE);
      if (progress_) progress_->add(slice_bytes);
    }
    if (--job.slices_left == 0) finish_file(job);
  }

  // Fills plain with blocks [first, first + count) of the file, from the first repository that
  // delivers them intact. A repository that fails (missing or damaged pack, a block that does not
  // match its id) hands over to the next one holding the same file of the same snapshot, with one
  // warning per repository and object.
  void load_slice(std::vector<std::unique_ptr<repo::BlockCodec>>& codecs, const ManifestIndex::Entry& entry,
                  std::uint64_t first, std::uint64_t count, std::uint64_t slice_bytes, const Bytes* local,
                  std::size_t local_got, std::uint8_t* plain, std::vector<bool>& same, std::vector<bool>& zero,
                  std::vector<io::Digest>& digests) {
    std::optional<Error> first_error, last_error;
    std::string failed_object;
    std::size_t failed_source = 0;
    for (std::size_t k = 0; k < sources_.size(); ++k) {
      SnapshotSource& src = *sources_[k];
      const ManifestIndex::Entry* e = k == 0 ? &entry : fallback_entry(src, entry);
      if (!e) continue;
      if (last_error) warn_fallback(failed_source, failed_object, *last_error, k);
      if (!codecs[k]) codecs[k] = std::make_unique<repo::BlockCodec>(src.repo->key(), io::Codec::none, 0);
      std::string object;
      try {
        read_slice(src, *codecs[k], *e, first, count, slice_bytes, local, local_got, plain, same, zero, digests, object);
        if (index_.digest_over_ids()) digests_to_ids(codecs, first, count, zero, digests);
        return;
      } catch (const Error& err) {
        if (err.kind() == ErrorKind::interrupted || sources_.size() == 1) throw;
        if (!first_error) first_error = err;
        last_error = err;
        failed_object = object;
        failed_source = k;
      }
    }
    throw Error(first_error->kind(), std::string(first_error->what()) + " (no other repository holds an intact copy)",
                first_error->hint());
  }

  // Under manifest version 2 the file digest is over block ids in the first repository's key
  // (repo/file_digest.h), whichever repository delivered the blocks; each block was proven
  // against its own repository's id before this.
  void digests_to_ids(std::vector<std::unique_ptr<repo::BlockCodec>>& codecs, std::uint64_t first,
                      std::uint64_t count, const std::vector<bool>& zero, std::vector<io::Digest>& digests) {
    if (!codecs[0]) codecs[0] = std::make_unique<repo::BlockCodec>(sources_[0]->repo->key(), io::Codec::none, 0);
    for (std::uint64_t i = 0; i < count; ++i)
      digests[first + i] = zero[i] ? repo::BlockId{} : codecs[0]->id_of_digest(digests[first + i]);
  }

  void warn_fallback(std::size_t from, const std::string& object, const Error& why, std::size_t to) {
    {
      std::lock_guard lock(mu_);
      if (!warned_.insert({from, object.empty() ? std::string(why.what()) : object}).second) return;
    }
    log_warning(std::string(why.what()) + "; reading it from repository '" + sources_[to]->repo->name() + "'");
  }

  // The same file in another repository's copy of the snapshot, or nullptr when that copy cannot
  // serve it (its manifest is unreadable, or lists the file differently).
  const ManifestIndex::Entry* fallback_entry(SnapshotSource& src, const ManifestIndex::Entry& want) {
    const ManifestIndex* index = nullptr;
    {
      std::lock_guard lock(src.mu);
      if (!src.tried) {
        src.tried = true;
        try {
          src.index = std::make_unique<ManifestIndex>(src.repo->store(), info_.id, src.repo->key());
        } catch (const Error& e) {
          if (e.kind() == ErrorKind::interrupted) throw;
          log_warning("snapshot " + info_.id + " in repository '" + src.repo->name() + "' cannot stand in for damaged "
                      "objects: " + e.what());
        }
      }
      index = src.index.get();
    }
    if (!index || index->block_bytes() != index_.block_bytes()) return nullptr;
    const auto* e = index->find(want.file.path);
    if (!e || e->file.type != EntryType::file || e->file.size_bytes != want.file.size_bytes ||
        e->file.block_count != want.file.block_count ||
        // Version 2 digests are keyed per repository: comparable only between version 1 copies.
        (!index->digest_over_ids() && !index_.digest_over_ids() && e->file.sha256 != want.file.sha256))
      return nullptr;
    return e;
  }

  // Blocks [first, first + count) of entry from one repository into plain; checks every block
  // against its id, records its digest and which blocks are zero or already right on disk.
  void read_slice(SnapshotSource& src, repo::BlockCodec& codec, const ManifestIndex::Entry& entry, std::uint64_t first,
                  std::uint64_t count, std::uint64_t slice_bytes, const Bytes* local, std::size_t local_got,
                  std::uint8_t* plain, std::vector<bool>& same, std::vector<bool>& zero,
                  std::vector<io::Digest>& digests, std::string& object) {
    const auto& f = entry.file;
    const std::uint64_t block = index_.block_bytes();
    std::vector<BlockRef> refs = src.index->blocks(entry, first, count);
    if (refs.size() != count)
      throw Error(ErrorKind::corrupt, "manifest of snapshot " + info_.id + " in " + src.repo->describe() + " lists " +
                                          std::to_string(refs.size()) + " blocks of " + f.path + " from block " +
                                          std::to_string(first) + ", expected " + std::to_string(count));
    same.assign(count, false);
    zero.assign(count, false);
    for (std::size_t i = 0; i < count; ++i) zero[i] = refs[i].is_zero();
    if (local) {
      for (std::size_t i = 0; i < count; ++i) {
        std::uint64_t off = i * block, len = std::min<std::uint64_t>(block, slice_bytes - off);
        if (off + len > local_got) break;
        ByteView lb(local->data() + off, len);
        same[i] = refs[i].is_zero() ? std::all_of(lb.begin(), lb.end(), [](std::uint8_t b) { return b == 0; })
                                    : codec.id_of(lb) == refs[i].id;
      }
    }
    fetch(src, codec, refs, same, f, plain, slice_bytes, local, object);
    // The slice's blocks are hashed side by side (see io/sha256_lanes.h), then checked in order.
    std::vector<ByteView> views(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::uint64_t off = i * block, len = std::min<std::uint64_t>(block, slice_bytes - off);
      views[i] = ByteView(plain + off, len);
    }
    io::sha256_many(views, std::span<io::Digest>(digests.data() + first, count));
    for (std::size_t i = 0; i < count; ++i) {
      const io::Digest& digest = digests[first + i];
      if (!refs[i].is_zero() && !same[i] && codec.id_of_digest(digest) != refs[i].id) {
        object = repo::pack_object(src.index->pack_id(refs[i].pack));
        throw Error(ErrorKind::corrupt, "block " + std::to_string(first + i) + " of " + f.path + " in snapshot " +
                                            info_.id + " in " + src.repo->describe() +
                                            " does not match its id (repository damaged?)");
      }
    }
  }

  // The last slice of a file to finish closes it: size, mode, time, and the digest over all blocks.
  void finish_file(FileJob& job) {
    const auto& f = job.entry->file;
    File& out = job.out;
    if (!job.existed || job.local_size != f.size_bytes) out.truncate(f.size_bytes);
    if (fchmod(out.fd(), static_cast<mode_t>(f.mode & 0640)) != 0) throw_errno("unable to set the mode of", job.dest, errno);
    struct timespec times[2] = {{f.mtime, 0}, {f.mtime, 0}};
    futimens(out.fd(), times);
    out.close();
    io::Sha256 file_sha;
    for (const auto& d : job.digests) file_sha.update(d);
    std::vector<io::Digest>().swap(job.digests);
    if (to_hex(file_sha.finish()) != f.sha256)
      throw Error(ErrorKind::corrupt, "restored file " + f.path + " of snapshot " + info_.id +
                                          " does not match its SHA-256 (repository damaged?)");
    std::lock_guard lock(mu_);
    if (job.changed) {
      ++result_.files_written;
      to_sync_.push_back(job.dest);
    } else {
      ++result_.files_unchanged;
    }
    result_.bytes_written = result_bytes_.load();
  }

  // Fills plain with the slice's blocks: each frame is read and opened once, neighbouring frames
  // of one pack in one ranged request; blocks already right on disk are copied from local.
  // object names the pack being read when this throws.
  void fetch(SnapshotSource& src, repo::BlockCodec& codec, const std::vector<BlockRef>& refs,
             const std::vector<bool>& same, const repo::FileEntry& f, std::uint8_t* plain, std::uint64_t plain_size,
             const Bytes* local, std::string& object_out) {
    const ManifestIndex& index = *src.index;
    const repo::Repository& repo = *src.repo;
    const std::uint64_t block = index_.block_bytes();
    struct Frame {
      std::vector<repo::BlockId> ids;
      Bytes data;
    };
    std::map<std::pair<std::uint32_t, std::uint32_t>, Frame> frames;
    // Distinct frames in first-use order, then grouped into ranged reads.
    std::vector<const BlockRef*> wanted;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (same[i] || refs[i].is_zero()) continue;
      auto key = std::make_pair(refs[i].pack, refs[i].offset);
      if (frames.emplace(key, Frame{}).second) wanted.push_back(&refs[i]);
    }
    std::stable_sort(wanted.begin(), wanted.end(), [](auto* a, auto* b) {
      return a->pack != b->pack ? a->pack < b->pack : a->offset < b->offset;
    });
    std::size_t k = 0;
    while (k < wanted.size()) {
      std::size_t j = k + 1;
      std::uint64_t end = static_cast<std::uint64_t>(wanted[k]->offset) + wanted[k]->length;
      while (j < wanted.size() && wanted[j]->pack == wanted[k]->pack && wanted[j]->offset == end &&
             end - wanted[k]->offset + wanted[j]->length <= kMaxCoalescedRead) {
        end += wanted[j]->length;
        ++j;
      }
      const std::string& pack_id = index.pack_id(wanted[k]->pack);
      std::string object = repo::pack_object(pack_id);
      object_out = object;
      auto data = repo.store().read_range(object, wanted[k]->offset, end - wanted[k]->offset);
      if (!data)
        throw Error(ErrorKind::not_found, "missing pack " + object + " needed by " + f.path + " of snapshot " + info_.id +
                                              " in " + repo.describe());
      for (std::size_t m = k; m < j; ++m) {
        Frame& fr = frames[{wanted[m]->pack, wanted[m]->offset}];
        try {
          codec.open_frame(ByteView(data->data() + (wanted[m]->offset - wanted[k]->offset), wanted[m]->length), fr.ids,
                           fr.data);
        } catch (const Error& e) {
          throw Error(ErrorKind::corrupt, "corrupt pack " + object + " in " + repo.describe() + " (" + e.what() +
                                              " at offset " + std::to_string(wanted[m]->offset) + ", needed by " +
                                              f.path + ")");
        }
      }
      k = j;
    }
    for (std::size_t i = 0; i < refs.size(); ++i) {
      std::uint64_t off = i * block;
      std::uint64_t len = std::min<std::uint64_t>(block, plain_size - off);
      if (same[i]) {
        std::memcpy(plain + off, local->data() + off, len);
        continue;
      }
      if (refs[i].is_zero()) {
        std::memset(plain + off, 0, len);
        continue;
      }
      const Frame& fr = frames[{refs[i].pack, refs[i].offset}];
      std::uint64_t at = static_cast<std::uint64_t>(refs[i].index) * block;
      if (refs[i].index >= fr.ids.size() || fr.ids[refs[i].index] != refs[i].id || at + len > fr.data.size()) {
        object_out = repo::pack_object(index.pack_id(refs[i].pack));
        throw Error(ErrorKind::corrupt, "corrupt pack " + object_out + " in " + repo.describe() + " (the frame at offset " +
                                            std::to_string(refs[i].offset) + " does not hold the block " + f.path +
                                            " needs)");
      }
      std::memcpy(plain + off, fr.data.data() + at, len);
    }
  }

  // Files are made durable together at the end rather than one by one as they are written: many
  // fdatasync calls in flight at once share the file system's journal commits, which one-by-one
  // syncing of a thousand small catalog files would pay for each.
  void sync_written_files() {
    std::vector<std::string> paths;
    {
      std::lock_guard lock(mu_);
      paths.swap(to_sync_);
    }
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kSyncThreads; ++t) {
      threads.emplace_back([&] {
        try {
          for (std::size_t i; (i = next.fetch_add(1)) < paths.size();) {
            File f = File::open(paths[i], O_RDONLY | O_NOFOLLOW);
            f.sync();
            f.close();
          }
        } catch (...) {
          std::lock_guard lock(error_mu);
          if (!error) error = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
  }

  void sync_directories() {
    std::vector<std::string> dirs;
    {
      std::lock_guard lock(mu_);
      dirs.assign(dirs_to_sync_.begin(), dirs_to_sync_.end());
    }
    for (const auto& e : index_.entries()) {
      if (e.file.type != EntryType::file) continue;
      std::string d = destination(e.file.path);
      dirs.push_back(d.substr(0, d.rfind('/')));
    }
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    for (const auto& d : dirs) fsync_directory(d);
  }

  std::vector<std::unique_ptr<SnapshotSource>>& sources_;
  const RestoreOptions& opt_;
  const repo::SnapshotInfo& info_;
  const ManifestIndex& index_;  // the first source's
  std::set<std::pair<std::size_t, std::string>> warned_;  // (source, object) already reported
  std::string target_;
  std::optional<TargetLock> lock_;  // held from prepare_target() to the end of run()
  std::map<std::string, std::string> tablespaces_;
  std::set<std::string> dirs_to_sync_;
  std::vector<std::string> to_sync_;
  Progress* progress_ = nullptr;
  RestoreResult result_;
  std::atomic<std::uint64_t> result_bytes_{0};
  std::mutex mu_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

}  // namespace

RestoreResult run_restore(const repo::Repository& repo, const RestoreOptions& options) {
  return run_restore(std::vector<const repo::Repository*>{&repo}, options);
}

RestoreResult run_restore(const std::vector<const repo::Repository*>& repos, const RestoreOptions& options) {
  check_target(options.target);
  if (repos.empty()) throw Error(ErrorKind::internal, "restore from no repository");
  auto [info, holders] = choose_snapshot(repos, options);
  check_archive_continuity(repos, info, options);
  // The first holder whose manifest reads is the main source; the others stand in for damage.
  std::vector<std::unique_ptr<SnapshotSource>> sources;
  for (const auto* r : holders) {
    auto src = std::make_unique<SnapshotSource>();
    src->repo = r;
    sources.push_back(std::move(src));
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    try {
      sources[i]->index = std::make_unique<ManifestIndex>(sources[i]->repo->store(), info.id, sources[i]->repo->key());
      sources[i]->tried = true;
      if (i > 0) {
        std::rotate(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(i),
                    sources.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        // Those before it were tried and failed: they stay as (unusable) fallbacks.
      }
      break;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::interrupted || i + 1 == sources.size()) throw;
      sources[i]->tried = true;
      std::string what = e.what();
      if (what.find("repository '" + sources[i]->repo->name() + "'") == std::string::npos)
        what = "snapshot " + info.id + " in repository '" + sources[i]->repo->name() + "' is damaged: " + what;
      log_warning(what + "; reading snapshot " + info.id + " from repository '" + sources[i + 1]->repo->name() + "'");
    }
  }
  Restorer r(sources, options, info);
  return r.run();
}

}  // namespace pgdr::restore
