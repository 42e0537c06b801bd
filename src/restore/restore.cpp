#include "restore/restore.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "io/sha256.h"
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

bool dir_is_empty(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) throw_errno("unable to read directory", dir, errno);
  bool empty = true;
  while (struct dirent* de = readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

void check_location(const std::string& snapshot, const std::string& location) {
  if (location.empty() || location.front() != '/' || location.find("/../") != std::string::npos ||
      location.ends_with("/..") || location.find("/./") != std::string::npos)
    throw Error(ErrorKind::corrupt, "refusing tablespace location '" + location + "' in snapshot " + snapshot +
                                        " (not a plain absolute path)");
}

class Restorer {
 public:
  Restorer(const repo::Repository& repo, const RestoreOptions& opt, const repo::SnapshotInfo& info)
      : repo_(repo), opt_(opt), info_(info), index_(repo.store(), info.id, repo.key()) {}

  RestoreResult run() {
    auto started = std::chrono::steady_clock::now();
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
      const std::string get = " archive-get ";
      if (auto at = target.restore_command.find(get);
          at != std::string::npos && info_.wal_segment_bytes != 0 && info_.wal_segment_bytes != (16u << 20))
        target.restore_command.insert(at + get.size(), "--wal-segment-size " + std::to_string(info_.wal_segment_bytes) + " ");
      write_recovery_settings(target_, target, info_.id);
    }
    run_files(last);
    sync_written_files();
    sync_directories();
    progress.finish();
    result_.info = info_;
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result_;
  }

 private:
  void prepare_target() {
    target_ = opt_.target_dir;
    if (target_.empty() || target_.front() != '/') {
      char cwd[PATH_MAX];
      if (!getcwd(cwd, sizeof cwd)) throw_errno("unable to read the working directory", ".", errno);
      target_ = std::string(cwd) + "/" + target_;
    }
    while (target_.size() > 1 && target_.back() == '/') target_.pop_back();
    struct stat st;
    if (lstat(target_.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, "restore target is not a directory: " + target_);
      if (!opt_.delta && !dir_is_empty(target_))
        throw Error(ErrorKind::io, "refusing to restore into a non-empty directory: " + target_,
                    "restore into an empty directory, or pass --delta to bring this one in line");
      if (opt_.delta) {
        refuse_running_server();
        // Until the restore completes, the directory must not look startable.
        std::string control = target_ + "/" + std::string(kControlFile);
        if (unlink(control.c_str()) == 0) fsync_directory(control.substr(0, control.rfind('/')));
        else if (errno != ENOENT) throw_errno("unable to remove", control, errno);
      }
    } else {
      pgdr::make_directories(target_, 0700);
    }
  }

  void refuse_running_server() {
    std::ifstream pid_file(target_ + "/postmaster.pid");
    long pid = 0;
    if (pid_file >> pid && pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM))
      throw Error(ErrorKind::io, "refusing to restore over a running server: " + target_ + " (postmaster pid " +
                                     std::to_string(pid) + ")",
                  "stop the server first");
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
      struct stat st;
      if (lstat(location.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, "tablespace location is not a directory: " + location);
        if (!opt_.delta && !dir_is_empty(location))
          throw Error(ErrorKind::io, "refusing to restore tablespace " + oid + " into a non-empty directory: " + location,
                      "map it elsewhere with --tablespace-map " + oid + "=DIR");
      }
      tablespaces_[oid] = location;
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
      for (const auto& e : index_.entries()) {
        const std::string prefix = "pg_tblspc/" + oid + "/";
        if (e.file.type == EntryType::directory && e.file.path.starts_with(prefix)) {
          std::string dest = destination(e.file.path);
          mkdir_in_target(dest, e.file.mode);
        }
      }
      dirs_to_sync_.insert(location);
    }
  }

  // Delta mode: whatever the snapshot does not hold goes, so recovery sees only the snapshot.
  void remove_extras() {
    std::set<std::string> wanted;
    for (const auto& e : index_.entries()) wanted.insert(destination(e.file.path));
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
          repo::BlockCodec codec(repo_.key(), io::Codec::none, 0);
          for (std::size_t i; !failed_.load() && (i = next.fetch_add(1)) < slices.size();) {
            throw_if_interrupted();
            restore_slice(codec, slices[i]);
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

  void restore_slice(repo::BlockCodec& codec, const SliceJob& slice) {
    FileJob& job = *slice.file;
    std::call_once(job.opened, [&] { open_file(job); });
    const auto& f = job.entry->file;
    const std::uint64_t block = index_.block_bytes();
    File& out = job.out;
    SliceBuffer& plain = plain_buffer();
    Bytes local;
    const std::uint64_t end_block = slice.first_block + slice.blocks;
    for (std::uint64_t first = slice.first_block; first < end_block; first += kSliceBlocks) {
      std::vector<BlockRef> refs = index_.blocks(*job.entry, first, std::min(kSliceBlocks, end_block - first));
      std::uint64_t slice_offset = first * block;
      std::uint64_t slice_bytes = std::min<std::uint64_t>(refs.size() * block, f.size_bytes - slice_offset);
      std::vector<bool> same(refs.size(), false);
      if (job.existed) {
        local.resize(slice_bytes);
        std::size_t got = out.read_at(local.data(), slice_bytes, slice_offset);
        for (std::size_t i = 0; i < refs.size(); ++i) {
          std::uint64_t off = i * block, len = std::min<std::uint64_t>(block, slice_bytes - off);
          if (off + len > got) break;
          ByteView lb(local.data() + off, len);
          same[i] = refs[i].is_zero() ? std::all_of(lb.begin(), lb.end(), [](std::uint8_t b) { return b == 0; })
                                      : codec.id_of(lb) == refs[i].id;
        }
      }
      plain.reserve(slice_bytes);
      fetch(codec, refs, same, f, plain.data(), slice_bytes, job.existed ? &local : nullptr);
      for (std::size_t i = 0; i < refs.size(); ++i) {
        std::uint64_t off = i * block, len = std::min<std::uint64_t>(block, slice_bytes - off);
        io::Digest digest = codec.digest_of(ByteView(plain.data() + off, len));
        job.digests[first + i] = digest;
        if (!refs[i].is_zero() && !same[i] && codec.id_of_digest(digest) != refs[i].id)
          throw Error(ErrorKind::corrupt, "block " + std::to_string(first + i) + " of " + f.path + " in snapshot " +
                                              info_.id + " does not match its id (repository damaged?)");
      }
      // Write runs of blocks that differ from what is on disk (everything for a new file, except
      // zero blocks: a fresh file reads as zeroes where nothing was written).
      std::size_t i = 0;
      while (i < refs.size()) {
        if (same[i] || (!job.existed && refs[i].is_zero())) {
          ++i;
          continue;
        }
        std::size_t j = i;
        while (j < refs.size() && !(same[j] || (!job.existed && refs[j].is_zero()))) ++j;
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
  void fetch(repo::BlockCodec& codec, const std::vector<BlockRef>& refs, const std::vector<bool>& same,
             const repo::FileEntry& f, std::uint8_t* plain, std::uint64_t plain_size, const Bytes* local) {
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
      const std::string& pack_id = index_.pack_id(wanted[k]->pack);
      std::string object = repo::pack_object(pack_id);
      auto data = repo_.store().read_range(object, wanted[k]->offset, end - wanted[k]->offset);
      if (!data)
        throw Error(ErrorKind::not_found, "missing pack " + object + " needed by " + f.path + " of snapshot " + info_.id +
                                              " in " + repo_.describe());
      for (std::size_t m = k; m < j; ++m) {
        Frame& fr = frames[{wanted[m]->pack, wanted[m]->offset}];
        try {
          codec.open_frame(ByteView(data->data() + (wanted[m]->offset - wanted[k]->offset), wanted[m]->length), fr.ids,
                           fr.data);
        } catch (const Error& e) {
          throw Error(ErrorKind::corrupt, "corrupt pack " + object + " in " + repo_.describe() + " (" + e.what() +
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
      if (refs[i].index >= fr.ids.size() || fr.ids[refs[i].index] != refs[i].id || at + len > fr.data.size())
        throw Error(ErrorKind::corrupt, "corrupt pack " + repo::pack_object(index_.pack_id(refs[i].pack)) + " in " +
                                            repo_.describe() + " (the frame at offset " +
                                            std::to_string(refs[i].offset) + " does not hold the block " + f.path +
                                            " needs)");
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

  const repo::Repository& repo_;
  const RestoreOptions& opt_;
  const repo::SnapshotInfo& info_;
  ManifestIndex index_;
  std::string target_;
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

namespace {

// Recovery past the snapshot reads the archive segment by segment on the snapshot's timeline; a
// hole there would end it early. To latest that is refused before anything is written; with an
// explicit target the hole may lie beyond it, so it is only reported.
void check_archive_continuity(const repo::Repository& repo, const repo::SnapshotInfo& info,
                              const RestoreOptions& options) {
  if (!options.recovery_settings || options.target.kind == TargetKind::immediate) return;
  std::uint64_t segment_bytes = info.wal_segment_bytes ? info.wal_segment_bytes : (16u << 20);
  auto stop = pg::parse_segment_file_name(info.last_wal_segment, segment_bytes);
  if (!stop) return;
  auto wal = repo::list_wal(repo, segment_bytes);
  auto it = wal.segments.find(stop->timeline);
  if (it == wal.segments.end()) return;
  std::uint64_t expect = stop->segno + 1;
  for (std::uint64_t seg : it->second) {
    if (seg < expect) continue;
    if (seg > expect) {
      std::string missing = pg::segment_file_name(stop->timeline, expect, segment_bytes);
      std::string msg = "WAL segment " + missing + " is missing from the archive of " + repo.describe() +
                        " (gap up to " + pg::segment_file_name(stop->timeline, seg - 1, segment_bytes) +
                        "): recovery from snapshot " + info.id + " would stop there";
      if (options.target.kind == TargetKind::latest)
        throw Error(ErrorKind::not_found, msg,
                    "restore to a target before the gap (--lsn, --time) or to the end of the snapshot (--immediate)");
      log_warning(msg);
      return;
    }
    expect = seg + 1;
  }
}

}  // namespace

RestoreResult run_restore(const repo::Repository& repo, const RestoreOptions& options) {
  check_target(options.target);
  repo::SnapshotInfo info;
  if (options.snapshot == "latest" || options.snapshot.empty()) {
    // The newest snapshot that ends before the target, so that recovery can reach it.
    std::vector<std::string> damaged;
    auto all = repo::list_snapshots(repo.store(), repo.key(), &damaged);
    for (const auto& d : damaged) log_warning(d + " (left out when choosing the snapshot)");
    const repo::SnapshotInfo* chosen = nullptr;
    for (const auto& s : all)
      if (snapshot_serves(s, options.target)) chosen = &s;
    if (!chosen) {
      if (all.empty())
        throw Error(ErrorKind::not_found, "no snapshot in " + repo.describe(), "take one with 'pgdr backup'");
      throw Error(ErrorKind::not_found, "no snapshot in " + repo.describe() + " ends before the recovery target " +
                                            options.target.value,
                  "the oldest snapshot ends at " + all.front().stop_time + " (LSN " + all.front().stop_lsn + ")");
    }
    info = *chosen;
  } else {
    info = repo::find_snapshot(repo.store(), repo.key(), options.snapshot);
    if (!snapshot_serves(info, options.target))
      throw Error(ErrorKind::usage, "snapshot " + info.id + " ends after the recovery target " + options.target.value +
                                        " (at " + info.stop_time + ", LSN " + info.stop_lsn + ")",
                  "choose an older snapshot, or leave --snapshot out to pick one");
  }
  check_archive_continuity(repo, info, options);
  Restorer r(repo, options, info);
  return r.run();
}

}  // namespace pgdr::restore
