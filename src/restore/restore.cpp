#include "restore/restore.h"
#include "restore/slice_picker.h"
#include "restore/snapshot_choice.h"
#include "restore/target_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>

#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "io/sha256.h"
#include "repo/block_reader.h"
#include "repo/manifest.h"

namespace pgdr::restore {

namespace {

using repo::BlockRef;
using repo::EntryType;
using repo::ManifestIndex;

constexpr std::uint64_t kSliceBlocks = 1024;      // refs handled per step of a file (8 MiB)
constexpr std::uint64_t kWorkSliceBlocks = 8192;  // blocks per work item (64 MiB) shared out
constexpr int kSyncThreads = 16;                  // fdatasync calls in flight at the end

// A buffer reused slice after slice by one thread: each slice fills every byte it hands out, so
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

// A repository holding the snapshot being restored. The first one's manifest is read before the
// restore starts; the others' only when a block has to be read from them.
struct SnapshotSource {
  const repo::Repository* repo = nullptr;
  std::mutex mu;
  bool tried = false;  // whether the manifest was read (index set) or failed (index null)
  std::unique_ptr<ManifestIndex> index;
};

// What one restore thread keeps from slice to slice: a block reader per repository (each has its
// own keys), made when first needed, and its buffers.
struct Worker {
  std::vector<std::unique_ptr<repo::BlockReader>> readers;  // by source
  SliceBuffer plain;
  Bytes local;
  std::vector<io::Digest> digests;  // of the slice in hand, one per block
};

// One slice being read: blocks [first, first + count) of a file, bytes long.
struct SliceRead {
  const ManifestIndex::Entry* entry = nullptr;  // the main repository's
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  const Bytes* local = nullptr;   // delta mode: the slice as on disk, local_got bytes of it
  std::size_t local_got = 0;
  std::uint8_t* plain = nullptr;  // where the slice's blocks go
  std::span<io::Digest> digests;  // each block's SHA-256, the worker's
  std::span<repo::BlockId> ids;   // each block's id in the first repository's key, into the file's
  std::vector<bool> same;         // per block: already right on disk
  std::vector<bool> zero;         // per block: all zeros, stored nowhere
  bool ids_known = true;          // false: a pack's trailer is damaged, the blocks were not
                                  // checked one by one (their file's digest proves them)
};

class Restorer {
 public:
  Restorer(std::vector<std::unique_ptr<SnapshotSource>>& sources, const RestoreOptions& opt,
           const repo::SnapshotInfo& info)
      : sources_(sources), opt_(opt), info_(info), index_(*sources.front()->index),
        target_dir_(opt, info, index_.entries()) {}

  RestoreResult run() {
    auto started = std::chrono::steady_clock::now();
    target_dir_.plan();
    target_dir_.prepare();
    target_dir_.make_directories();
    target_dir_.make_tablespace_links();
    if (opt_.delta) result_.files_removed = target_dir_.remove_extras();

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
    target_dir_.finish();
    progress.finish();
    result_.info = info_;
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result_;
  }

 private:
  // One file being restored, shared by the workers that restore its slices.
  struct FileJob {
    const ManifestIndex::Entry* entry = nullptr;
    std::string dest;
    std::once_flag opened;
    File out;
    bool existed = false;
    std::uint64_t local_size = 0;
    std::vector<repo::BlockId> ids;  // one per block, for the file digest
    std::atomic<std::size_t> slices_left{0};
    std::atomic<bool> changed{false};
  };

  // Files are cut into slices that any worker may take, largest files first, so that two workers
  // share a big file instead of one of them finishing it alone; while several files are left, each
  // worker writes its own (slice_picker.h).
  void run_files(const std::vector<const ManifestIndex::Entry*>& files) {
    std::vector<const ManifestIndex::Entry*> order = files;
    std::stable_sort(order.begin(), order.end(),
                     [](auto* a, auto* b) { return a->file.size_bytes > b->file.size_bytes; });
    std::vector<std::unique_ptr<FileJob>> jobs;
    std::vector<std::uint64_t> blocks;
    for (const auto* e : order) {
      auto job = std::make_unique<FileJob>();
      job->entry = e;
      job->dest = target_dir_.destination(e->file.path);
      job->slices_left = SlicePicker::slices_in(e->file.block_count, kWorkSliceBlocks);
      blocks.push_back(e->file.block_count);
      jobs.push_back(std::move(job));
    }
    SlicePicker picker(blocks, kWorkSliceBlocks);
    run_parallel(picker.slice_count(), opt_.process_max, [&](WorkQueue& queue) {
      Worker worker;
      worker.readers.resize(sources_.size());
      std::optional<SlicePicker::Slice> slice;
      // One queue index per slice: the queue stops the run at an interrupt or another worker's error.
      while (queue.next() && (slice = picker.next(slice)))
        restore_slice(worker, *jobs[slice->file], slice->first_block, slice->blocks);
    });
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
    job.ids.resize(job.entry->file.block_count);
    if (!job.existed || job.local_size != job.entry->file.size_bytes) job.changed = true;
  }

  // Blocks [first_block, first_block + blocks) of job's file.
  void restore_slice(Worker& worker, FileJob& job, std::uint64_t first_block, std::uint64_t blocks) {
    std::call_once(job.opened, [&] { open_file(job); });
    const auto& f = job.entry->file;
    const std::uint64_t block = index_.block_bytes();
    File& out = job.out;
    SliceRead s;
    s.entry = job.entry;
    const std::uint64_t end_block = first_block + blocks;
    for (std::uint64_t first = first_block; first < end_block; first += kSliceBlocks) {
      s.first = first;
      s.count = std::min(kSliceBlocks, end_block - first);
      std::uint64_t slice_offset = first * block;
      s.bytes = std::min<std::uint64_t>(s.count * block, f.size_bytes - slice_offset);
      if (job.existed) {
        worker.local.resize(s.bytes);
        s.local_got = out.read_at(worker.local.data(), s.bytes, slice_offset);
        s.local = &worker.local;
      }
      worker.plain.reserve(s.bytes);
      s.plain = worker.plain.data();
      worker.digests.resize(s.count);
      s.digests = std::span<io::Digest>(worker.digests.data(), s.count);
      s.ids = std::span<repo::BlockId>(job.ids.data() + first, s.count);
      load_slice(worker, s);
      // Write runs of blocks that differ from what is on disk (everything for a new file, except
      // zero blocks: a fresh file reads as zeroes where nothing was written).
      auto kept = [&](std::size_t i) { return s.same[i] || (!job.existed && s.zero[i]); };
      std::size_t i = 0;
      while (i < s.count) {
        if (kept(i)) {
          ++i;
          continue;
        }
        std::size_t j = i;
        while (j < s.count && !kept(j)) ++j;
        std::uint64_t off = i * block, end = std::min<std::uint64_t>(j * block, s.bytes);
        out.pwrite_all(ByteView(s.plain + off, end - off), slice_offset + off);
        result_bytes_ += end - off;
        job.changed = true;
        i = j;
      }
      // Start writing back now, so the final fdatasync waits for little: disk and CPU overlap.
      sync_file_range(out.fd(), static_cast<off64_t>(slice_offset), static_cast<off64_t>(s.bytes),
                      SYNC_FILE_RANGE_WRITE);
      if (progress_) progress_->add(s.bytes);
    }
    if (--job.slices_left == 0) finish_file(job);
  }

  repo::BlockReader& reader(Worker& worker, std::size_t source) {
    auto& r = worker.readers[source];
    if (!r) {
      const repo::Repository& repo = *sources_[source]->repo;
      r = std::make_unique<repo::BlockReader>(repo.store(), repo.key(), repo.describe());
    }
    return *r;
  }

  // Fills the slice from the first repository that delivers its blocks intact. A repository that
  // fails (missing or damaged pack, a block that does not match its id) hands over to the next one
  // holding the same file of the same snapshot, with one warning per repository and object.
  void load_slice(Worker& worker, SliceRead& s) {
    std::optional<Error> first_error, last_error;
    std::string failed_object;
    std::size_t failed_source = 0;
    for (std::size_t k = 0; k < sources_.size(); ++k) {
      SnapshotSource& src = *sources_[k];
      const ManifestIndex::Entry* e = k == 0 ? s.entry : fallback_entry(src, *s.entry);
      if (!e) continue;
      if (last_error) warn_fallback(failed_source, failed_object, *last_error, k);
      repo::BlockReader& from = reader(worker, k);
      try {
        const std::vector<BlockRef> refs = read_slice(src, from, *e, s);
        if (k == 0 && s.ids_known)
          take_ids(refs, s);
        else
          digests_to_ids(reader(worker, 0), s);
        return;
      } catch (const Error& err) {
        if (err.kind() == ErrorKind::interrupted || sources_.size() == 1) throw;
        if (!first_error) first_error = err;
        last_error = err;
        failed_object = from.object_in_hand();
        failed_source = k;
      }
    }
    throw Error(first_error->kind(), std::string(first_error->what()) + " (no other repository holds an intact copy)",
                first_error->hint());
  }

  // The slice's blocks of entry from one repository (repo/block_reader.h: each checked against its
  // id), with their digests; which blocks are zero, and which already right on disk. Returns the
  // manifest's references of the slice, whose ids every block now matches.
  std::vector<BlockRef> read_slice(SnapshotSource& src, repo::BlockReader& reader, const ManifestIndex::Entry& entry,
                                   SliceRead& s) {
    const auto& f = entry.file;
    const std::uint64_t block = index_.block_bytes();
    std::vector<BlockRef> refs;
    s.ids_known = true;
    try {
      refs = src.index->blocks(entry, s.first, s.count);
    } catch (const repo::CorruptPack& e) {
      // The ids are in the trailer, the blocks in the frames: an intact frame still restores,
      // and the file's digest, over the ids of what was read, proves it.
      warn_unnamed(src, e);
      refs = src.index->locations(entry, s.first, s.count);
      s.ids_known = false;
    }
    if (refs.size() != s.count)
      throw Error(ErrorKind::corrupt, "manifest of snapshot " + info_.id + " in " + src.repo->describe() + " lists " +
                                          std::to_string(refs.size()) + " blocks of " + f.path + " from block " +
                                          std::to_string(s.first) + ", expected " + std::to_string(s.count));
    s.same.assign(s.count, false);
    s.zero.assign(s.count, false);
    for (std::size_t i = 0; i < s.count; ++i) s.zero[i] = refs[i].is_zero();
    if (s.local && s.ids_known) {
      for (std::size_t i = 0; i < s.count; ++i) {
        std::uint64_t off = i * block, len = std::min<std::uint64_t>(block, s.bytes - off);
        if (off + len > s.local_got) break;
        ByteView lb(s.local->data() + off, len);
        s.same[i] = refs[i].is_zero() ? std::all_of(lb.begin(), lb.end(), [](std::uint8_t b) { return b == 0; })
                                      : reader.codec().id_of(lb) == refs[i].id;
        if (s.same[i]) std::memcpy(s.plain + off, lb.data(), len);
      }
    }
    repo::BlockRead read;
    read.manifest = src.index.get();
    read.refs = refs;
    read.bytes = s.bytes;
    read.skip = &s.same;
    read.ids_known = s.ids_known;
    read.first_block = s.first;
    read.file = f.path;
    read.snapshot = info_.id;
    reader.read_blocks(read, s.plain, s.digests);
    return refs;
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
    repo::FileDigest file_digest;
    for (const auto& id : job.ids) file_digest.add_id(id);  // a zero block's id is all zeros (add_zero)
    std::vector<repo::BlockId>().swap(job.ids);
    if (file_digest.finish_hex() != f.sha256)
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

  // The file digest is over block ids in the first repository's key (repo/file_digest.h),
  // whichever repository delivered the blocks. From the first repository they are the ids of its
  // references (from the packs' trailers), which every block was just proven against: no second
  // HMAC.
  static void take_ids(const std::vector<BlockRef>& refs, SliceRead& s) {
    for (std::uint64_t i = 0; i < s.count; ++i) s.ids[i] = s.zero[i] ? repo::BlockId{} : refs[i].id;
  }

  // From another repository each block was proven against that repository's id: its id in the
  // first repository's key is made from its digest.
  static void digests_to_ids(repo::BlockReader& first, SliceRead& s) {
    for (std::uint64_t i = 0; i < s.count; ++i)
      s.ids[i] = s.zero[i] ? repo::BlockId{} : first.codec().id_of_digest(s.digests[i]);
  }

  void warn_unnamed(const SnapshotSource& src, const repo::CorruptPack& why) {
    {
      std::lock_guard lock(mu_);
      if (!unnamed_warned_.insert(why.what()).second) return;
    }
    log_warning(std::string(why.what()) + ": its blocks are restored without their ids, each file that uses it checked "
                "against its SHA-256 as a whole; run pgdr verify on repository '" + src.repo->name() + "'");
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
          src.index = std::make_unique<ManifestIndex>(src.repo->store(), info_.id, src.repo->key(), src.repo->describe());
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
        e->file.block_count != want.file.block_count)
      // File digests are over keyed ids, so they are not comparable across repositories; each
      // block is proven against its own repository's id instead, and the whole file against the
      // first repository's digest in finish_file.
      return nullptr;
    return e;
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
    parallel_for(paths.size(), kSyncThreads, [&](std::size_t i) {
      File f = File::open(paths[i], O_RDONLY | O_NOFOLLOW);
      f.sync();
      f.close();
    });
  }

  void sync_directories() { target_dir_.sync_directories(); }

  std::vector<std::unique_ptr<SnapshotSource>>& sources_;
  const RestoreOptions& opt_;
  const repo::SnapshotInfo& info_;
  const ManifestIndex& index_;  // the first source's
  TargetDir target_dir_;
  const std::string& target_ = target_dir_.path();
  std::set<std::pair<std::size_t, std::string>> warned_;  // (source, object) already reported
  std::set<std::string> unnamed_warned_;                  // damaged trailers already reported
  std::vector<std::string> to_sync_;
  Progress* progress_ = nullptr;
  RestoreResult result_;
  std::atomic<std::uint64_t> result_bytes_{0};
  std::mutex mu_;
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
      sources[i]->index =
          std::make_unique<ManifestIndex>(sources[i]->repo->store(), info.id, sources[i]->repo->key(), sources[i]->repo->describe());
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
