#include "backup/backup_run.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <type_traits>

#include "backup/block_sink.h"
#include "backup/read_plan.h"
#include "backup/split_file.h"
#include "backup/work_items.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/parallel.h"
#include "io/sha256_lanes.h"
#include "pg/page.h"

namespace pgdr::backup {

namespace {

constexpr std::size_t kReadChunkBytes = 1u << 20;
constexpr std::uint64_t kToEnd = std::numeric_limits<std::uint64_t>::max();

}  // namespace

// Reads each file once and hands every block to one sink per repository.
class BackupRun::Worker {
 public:
  explicit Worker(BackupRun& run) : run_(run), buf_(kReadChunkBytes) {
    for (auto& t : run.targets_)
      sinks_.push_back(std::make_unique<BlockSink>(*t, run.codec_, run.opt_.compress_level,
                                                  run.opt_.compress_harder_below, run.block_bytes_));
  }

  void file(const SourceFile& f) {
    if (f.entry.type != repo::EntryType::file) {
      each([&](BlockSink& s) { s.record(f.entry); });
      return;
    }
    if (f.content) {
      begin(f.entry);
      blocks(as_bytes(*f.content));
      end();
      return;
    }
    std::optional<File> opened = open_source(f);
    if (!opened) return;
    File& in = *opened;
    begin(f.entry);
    if (run_.map_ && f.relation) {
      ReadPlan plan = plan_read(*run_.map_, f.entry.path, in.size(), smallest_previous_size(run_.targets_, f.entry.path),
                                run_.block_bytes_);
      const bool keepable = std::all_of(sinks_.begin(), sinks_.end(), [](const auto& s) { return s->previous_known(); });
      if (!plan.whole && keepable) {
        if (read_by_plan(in, f, plan)) {
          end();
          return;
        }
        // The file shrank under us: the plan no longer fits, read what is there now. The frames
        // in hand are flushed first, while the references they fill are still there.
        each([](BlockSink& s) { s.restart(); });
        begin(f.entry);
      }
    }
    read_range(in, f, 0, kToEnd);
    end();
  }

  // Reads one piece of a file and hands its references to the file's SplitFile; the worker that
  // hands in the last piece records the file.
  void piece(const SourceFile& f, const WorkItem& it, SplitFile& sf) {
    const std::uint64_t block = run_.block_bytes_;
    SplitFile::Piece p;
    p.first_block = it.first_block;
    p.last = it.blocks == 0;
    p.bytes_wanted = p.last ? kToEnd : it.blocks * block;
    begin(f.entry, it.first_block, p.last ? kToEnd : it.blocks);
    if (std::optional<File> in = open_source(f))
      p.bytes_read = read_range(*in, f, it.first_block * block, p.bytes_wanted);
    else
      p.gone = true;
    std::vector<std::vector<repo::BlockRef>> refs;
    each([&](BlockSink& s) { refs.push_back(s.take_refs()); });
    if (sf.add(p, std::move(refs))) finish_split(f, sf);
  }

  void finish() {
    each([](BlockSink& s) { s.finish(); });
  }

 private:
  // Records a file whose pieces are all in. One that shrank while its pieces were read is read
  // again whole (the blocks its pieces stored stay as garbage); one that went is left out.
  void finish_split(const SourceFile& f, SplitFile& sf) {
    switch (sf.outcome()) {
      case SplitFile::Outcome::leave_out:
        return;
      case SplitFile::Outcome::read_again:
        file(f);
        return;
      case SplitFile::Outcome::record:
        break;
    }
    std::vector<std::vector<repo::BlockRef>> refs = sf.take_refs();
    entry_ = f.entry;
    entry_.size_bytes = sf.size_bytes();
    entry_.block_count = refs.front().size();
    run_.logical_bytes_ += entry_.size_bytes;
    ++run_.files_;
    std::size_t t = 0;
    each([&](BlockSink& s) { s.add_file(entry_, refs[t++]); });
  }

  // The source file opened for reading; nullopt when it is gone and may be (a relation dropped
  // while we worked is accounted for by WAL replay; WAL itself is not).
  std::optional<File> open_source(const SourceFile& f) {
    int fd = ::open(f.source_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return File::adopt(fd, f.source_path);
    if (errno == ENOENT && !f.required) return std::nullopt;
    if (errno == ENOENT)
      throw Error(ErrorKind::not_found, "WAL segment " + f.entry.path + " needed by the snapshot is gone from " +
                                            f.source_path.substr(0, f.source_path.rfind('/')),
                  "allow a temporary replication slot (max_replication_slots > 0) so the server keeps it");
    throw_errno("unable to open", f.source_path, errno);
  }

  // Reads up to `limit` bytes of f from `start` (to its end when there are fewer) into the
  // sinks, a buffer at a time, checking page checksums; returns the bytes read.
  std::uint64_t read_range(File& in, const SourceFile& f, std::uint64_t start, std::uint64_t limit) {
    const bool to_end = limit == kToEnd;
    posix_fadvise(in.fd(), static_cast<off_t>(start), to_end ? 0 : static_cast<off_t>(limit), POSIX_FADV_SEQUENTIAL);
    std::uint64_t done = 0;
    while (done < limit) {
      std::size_t ask = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size(), limit - done));
      std::size_t got = in.read_at(buf_.data(), ask, start + done);
      if (got == 0) break;
      if (f.relation && run_.checksums_) check_pages(in, f, start + done, got);
      run_.read_bytes_ += got;
      blocks(ByteView(buf_.data(), got));
      done += got;
      if (got < ask) break;
    }
    return done;
  }

  // Runs fn on every sink (with its index, when fn takes one); an error there is one
  // repository's, and says which.
  template <typename Fn>
  void each(Fn&& fn) {
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      try {
        if constexpr (std::is_invocable_v<Fn, BlockSink&, std::size_t>) fn(*sinks_[i], i);
        else fn(*sinks_[i]);
      } catch (const Error& e) {
        throw in_repository(e, sinks_[i]->target(), run_.snapshot_id_);
      }
    }
  }

  void begin(const repo::FileEntry& e, std::uint64_t first_block = 0, std::uint64_t blocks = kToEnd) {
    entry_ = e;
    entry_.size_bytes = 0;
    block_count_ = 0;
    each([&](BlockSink& s) { s.begin(e.path, first_block, blocks); });
  }

  // Reads the blocks plan names, in runs of adjacent blocks, and takes every other block from
  // the previous snapshots. False when a block to read is no longer there (the file shrank
  // since its size was taken); the caller then reads the file whole.
  bool read_by_plan(File& in, const SourceFile& f, const ReadPlan& plan) {
    const std::uint64_t block = run_.block_bytes_;
    const std::uint64_t file_blocks = plan.file_blocks;
    std::size_t next = 0;  // into plan.blocks
    for (std::uint64_t b = 0; b < file_blocks;) {
      if (next < plan.blocks.size() && plan.blocks[next] == b) {
        // A run of adjacent blocks to read, at most one buffer at a time.
        std::size_t run_end = next + 1;
        while (run_end < plan.blocks.size() && plan.blocks[run_end] == plan.blocks[run_end - 1] + 1 &&
               (run_end - next + 1) * block <= buf_.size())
          ++run_end;
        std::uint64_t count = run_end - next;
        std::uint64_t offset = b * block;
        std::size_t want = static_cast<std::size_t>(count * block);
        std::size_t got = in.read_at(buf_.data(), want, offset);
        if (got != want) return false;
        if (run_.checksums_) check_pages(in, f, offset, got);
        run_.read_bytes_ += got;
        blocks(ByteView(buf_.data(), got));
        b += count;
        next = run_end;
        continue;
      }
      std::uint64_t until = next < plan.blocks.size() ? plan.blocks[next] : file_blocks;
      for (; b < until; ++b) {
        each([](BlockSink& s) { s.keep(); });
        entry_.size_bytes += block;
        ++block_count_;
        run_.progress_.add(block);
      }
    }
    return true;
  }

  void end() {
    entry_.block_count = block_count_;
    run_.logical_bytes_ += entry_.size_bytes;
    ++run_.files_;
    each([&](BlockSink& s) { s.end(entry_); });
  }

  // Validates each full page's checksum. A failing page whose LSN is past the backup start is
  // being written right now and will be replaced by WAL replay; any other failure is read once
  // more (a torn read) before it counts.
  void check_pages(File& in, const SourceFile& f, std::uint64_t offset, std::size_t got) {
    for (std::size_t p = 0; p + pg::kPageBytes <= got; p += pg::kPageBytes) {
      ByteView page(buf_.data() + p, pg::kPageBytes);
      auto blkno = static_cast<std::uint32_t>(f.first_block + (offset + p) / pg::kPageBytes);
      auto verdict = pg::check_page(page, blkno);
      if (verdict == pg::PageCheck::ok || verdict == pg::PageCheck::new_page) continue;
      if (pg::page_lsn(page) >= run_.start_lsn_.value) continue;
      std::size_t again = in.read_at(buf_.data() + p, pg::kPageBytes, offset + p);
      if (again == pg::kPageBytes) {
        verdict = pg::check_page(page, blkno);
        if (verdict == pg::PageCheck::ok || verdict == pg::PageCheck::new_page) continue;
        if (pg::page_lsn(page) >= run_.start_lsn_.value) continue;
      }
      run_.checksum_failure(f.source_path, blkno);
    }
  }

  // Each block is hashed once (the digest does not depend on any key), then named and stored
  // by every repository's sink. The chunk's non-zero blocks are hashed side by side, and named
  // side by side (see io/sha256_lanes.h); a zero block is neither.
  void blocks(ByteView data) {
    const std::size_t block = run_.block_bytes_;
    chunk_blocks_.clear();
    chunk_zero_.clear();
    for (std::size_t off = 0; off < data.size(); off += block) {
      ByteView b = data.subspan(off, std::min(block, data.size() - off));
      bool zero = pg::page_is_zero(b);
      chunk_zero_.push_back(zero);
      if (!zero) chunk_blocks_.push_back(b);
    }
    chunk_digests_.resize(chunk_blocks_.size());
    io::sha256_many(chunk_blocks_, chunk_digests_);
    chunk_ids_.resize(sinks_.size());
    each([&](BlockSink& s, std::size_t sink) { s.name(chunk_digests_, chunk_ids_[sink]); });
    std::size_t next = 0;
    for (std::size_t i = 0, off = 0; off < data.size(); ++i, off += block) {
      ByteView b = data.subspan(off, std::min(block, data.size() - off));
      entry_.size_bytes += b.size();
      ++block_count_;
      run_.progress_.add(b.size());
      if (chunk_zero_[i]) {
        ++run_.zero_blocks_;
        for (auto& s : sinks_) s->zero_block();
        continue;
      }
      each([&](BlockSink& s, std::size_t sink) { s.block(b, chunk_ids_[sink][next]); });
      ++next;
    }
    each([](BlockSink& s) { s.detach(); });  // data is the read buffer, refilled next
  }

  BackupRun& run_;
  Bytes buf_;
  std::vector<ByteView> chunk_blocks_;  // the non-zero blocks of the chunk in hand
  std::vector<io::Digest> chunk_digests_;
  std::vector<std::vector<repo::BlockId>> chunk_ids_;  // per sink: the ids of chunk_blocks_
  std::vector<bool> chunk_zero_;
  repo::FileEntry entry_;
  std::uint64_t block_count_ = 0;
  std::vector<std::unique_ptr<BlockSink>> sinks_;
};

BackupRun::BackupRun(std::vector<std::unique_ptr<Target>>& targets, const std::string& snapshot_id,
                     const BackupOptions& opt, pg::Lsn start_lsn, bool checksums, Progress& progress)
    : targets_(targets),
      snapshot_id_(snapshot_id),
      opt_(opt),
      start_lsn_(start_lsn),
      checksums_(checksums),
      progress_(progress),
      codec_(*io::codec_from_string(opt.compress)),
      block_bytes_(targets.front()->repo->settings().block_bytes) {}

FileToShare BackupRun::share_of(const SourceFile& f) const {
  FileToShare s{f.entry.size_bytes, false};
  if (f.entry.type != repo::EntryType::file || f.content) return s;
  if (map_ && f.relation) {
    // The plan is made again when the file is opened, at its size then; what it says here is
    // how much there is to read, and whether the file is read whole from disk.
    ReadPlan plan = plan_read(*map_, f.entry.path, f.entry.size_bytes,
                              smallest_previous_size(targets_, f.entry.path), block_bytes_);
    if (!plan.whole) {
      s.size_bytes = plan.blocks.size() * block_bytes_;
      return s;
    }
  }
  s.splittable = true;
  return s;
}

void BackupRun::run_files(const std::vector<const SourceFile*>& files) {
  std::vector<FileToShare> shares;
  for (const SourceFile* f : files) shares.push_back(share_of(*f));
  const std::vector<WorkItem> items = share_out(shares, opt_.process_max, block_bytes_);
  std::map<std::size_t, std::unique_ptr<SplitFile>> splits;
  for (const auto& it : items)
    if (it.pieces > 1 && !splits.count(it.file)) {
      const SourceFile& f = *files[it.file];
      const std::uint64_t blocks = (f.entry.size_bytes + block_bytes_ - 1) / block_bytes_;
      splits.emplace(it.file, std::make_unique<SplitFile>(it.pieces, targets_.size(), blocks));
      log_debug(f.entry.path + ": read in " + std::to_string(it.pieces) + " pieces of " +
                std::to_string(it.blocks * block_bytes_ >> 20) + " MiB, shared among the workers");
    }
  run_parallel(items.size(), opt_.process_max, [&](WorkQueue& queue) {
    Worker w(*this);
    while (auto i = queue.next()) {
      const WorkItem& it = items[*i];
      if (it.pieces > 1)
        w.piece(*files[it.file], it, *splits.at(it.file));
      else
        w.file(*files[it.file]);
    }
    w.finish();
  });
}

std::vector<std::string> BackupRun::warnings() const {
  std::lock_guard lock(mu_);
  return warnings_;
}

void BackupRun::checksum_failure(const std::string& path, std::uint32_t blkno) {
  std::uint64_t n = ++checksum_failures_;
  if (n <= static_cast<std::uint64_t>(opt_.checksum_page_warn_max)) {
    std::lock_guard lock(mu_);
    warnings_.push_back("page checksum mismatch in " + path + " block " + std::to_string(blkno));
  }
}

}  // namespace pgdr::backup
