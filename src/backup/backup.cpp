#include "backup/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "backup/change_source.h"
#include "backup/read_plan.h"
#include "backup/server_facts.h"
#include "backup/source_files.h"
#include "backup/wal_place.h"
#include "backup/work_items.h"
#include "core/error.h"
#include "core/file.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/clock.h"
#include "core/time_format.h"
#include "io/compress.h"
#include "io/sha256.h"
#include "io/sha256_lanes.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/page.h"
#include "pg/version.h"
#include "repo/format.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/file_digest.h"
#include "repo/pack.h"

namespace pgdr::backup {

namespace {

using repo::BlockId;
using repo::BlockRef;

constexpr std::size_t kReadChunkBytes = 1u << 20;

struct BlockIdHash {
  std::size_t operator()(const BlockId& id) const noexcept {
    std::size_t h;
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};

// Blocks stored by a backup that died before its snapshot became visible: reused, not stored again.
struct OrphanBlocks {
  std::vector<std::string> pack_ids;
  std::unordered_map<BlockId, std::pair<std::uint32_t, repo::PackEntry>, BlockIdHash> blocks;
};

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!realpath(p.c_str(), buf)) return p;
  return buf;
}

// What one repository receives during the backup: its manifest, the snapshot it deduplicates
// against, the blocks of its orphan packs, its own pack numbering and counters.
struct Target {
  repo::Repository* repo = nullptr;
  std::unique_ptr<repo::ManifestWriter> manifest;
  std::unique_ptr<repo::ManifestIndex> previous;
  std::string previous_id;
  std::optional<repo::SnapshotInfo> previous_info;
  OrphanBlocks orphans;

  std::mutex mu;  // pack_numbers, packs
  std::unordered_map<std::string, std::uint32_t> pack_numbers;
  std::vector<std::string> packs;
  std::atomic<std::uint64_t> new_blocks{0}, reused_blocks{0}, kept_blocks{0}, pack_bytes{0};

  // The manifest number of pack_id, declaring it on first use. Orphan packs adopted this way join
  // the snapshot's own pack list, so they are no longer orphans.
  std::uint32_t adopt(const std::string& pack_id, bool claim_it = true) {
    std::lock_guard lock(mu);
    auto it = pack_numbers.find(pack_id);
    if (it != pack_numbers.end()) return it->second;
    std::uint32_t no = manifest->declare_pack(pack_id);
    pack_numbers.emplace(pack_id, no);
    if (claim_it) packs.push_back(pack_id);
    return no;
  }
  void claim(const std::string& pack_id) {
    std::lock_guard lock(mu);
    packs.push_back(pack_id);
  }
};

// An error while writing to one repository, reworded to name it (the storage's own message names
// only the object).
Error in_repository(const Error& e, const Target& t, const std::string& snapshot_id) {
  std::string what = e.what();
  const std::string name = "'" + t.repo->name() + "'";
  if (what.find(name) == std::string::npos)
    what = "unable to write snapshot " + snapshot_id + " to repository " + name + ": " + what;
  return Error(e.kind(), what, e.hint());
}

class BackupRun {
 public:
  BackupRun(std::vector<std::unique_ptr<Target>>& targets, const std::string& snapshot_id, const BackupOptions& opt,
            pg::Lsn start_lsn, bool checksums, Progress& progress)
      : targets_(targets),
        snapshot_id_(snapshot_id),
        opt_(opt),
        start_lsn_(start_lsn),
        checksums_(checksums),
        progress_(progress),
        codec_(*io::codec_from_string(opt.compress)),
        block_bytes_(targets.front()->repo->settings().block_bytes) {}

  // Backs files up on process_max threads, shared out by share_out (work_items.h): largest
  // first, a big file read whole (no change map) in pieces. A worker closes its packs even after
  // another one failed; the first error is rethrown once all are back.
  void run_files(const std::vector<const SourceFile*>& files) {
    std::vector<FileToShare> shares;
    for (const SourceFile* f : files)
      shares.push_back(FileToShare{f->entry.size_bytes, !map_ && !f->content && f->entry.type == repo::EntryType::file});
    const std::vector<WorkItem> items = share_out(shares, opt_.process_max, block_bytes_);
    std::map<std::size_t, std::unique_ptr<SplitFile>> splits;
    for (const auto& it : items)
      if (it.pieces > 1 && !splits.count(it.file))
        splits.emplace(it.file, std::make_unique<SplitFile>(it.pieces, targets_.size()));
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

  // Relation files are read by this map from now on (nullptr: everything is read whole).
  void read_by(const pg::ChangeMap* map) { map_ = map; }

  std::uint64_t files() const { return files_; }
  std::uint64_t read_bytes() const { return read_bytes_; }
  std::uint64_t zero_blocks() const { return zero_blocks_; }
  std::uint64_t logical_bytes() const { return logical_bytes_; }
  std::uint64_t checksum_failures() const { return checksum_failures_; }
  std::vector<std::string> warnings() const {
    std::lock_guard lock(mu_);
    return warnings_;
  }

 private:
  // What the pieces of one file leave for the worker that finishes its last piece.
  struct SplitFile {
    SplitFile(std::uint64_t pieces, std::size_t targets) : pending(pieces), refs(targets) {}
    std::mutex mu;
    std::uint64_t pending;                    // pieces not finished yet
    std::vector<std::vector<BlockRef>> refs;  // per repository, in file order
    std::uint64_t size_bytes = 0;
    bool shrank = false;  // a piece before the last read less than its blocks
    bool gone = false;    // a piece found the file removed
  };

  // One worker's part of one repository: its cipher and compressor (keyed per repository), the
  // frame being gathered, the block references of the file in hand and its own open pack.
  class Sink {
   public:
    Sink(BackupRun& run, Target& target)
        : run_(run), t_(target), codec_(target.repo->key(), run.codec_, run.opt_.compress_level) {}

    // Begins the file at path, or blocks [first_block, first_block + blocks) of it: the previous
    // snapshot's references to the same blocks are what this one may reuse.
    void begin(const std::string& path, std::uint64_t first_block = 0,
               std::uint64_t blocks = std::numeric_limits<std::uint64_t>::max()) {
      refs_.clear();
      prev_refs_.clear();
      prev_size_.reset();
      if (t_.previous) {
        if (const auto* p = t_.previous->find(path); p && p->file.type == repo::EntryType::file) {
          prev_refs_ = t_.previous->blocks(*p, first_block, blocks);
          prev_size_ = p->file.size_bytes;
        }
      }
    }

    // The size the previous snapshot recorded for the file begun; nullopt when it has none.
    std::optional<std::uint64_t> previous_size() const { return prev_size_; }

    // The next block is one the change map says is unchanged since the previous snapshot: its
    // reference is taken from there without reading it.
    void keep() {
      BlockRef r = prev_refs_.at(refs_.size());
      if (!r.is_zero()) r.pack = translate_previous(r.pack);
      refs_.push_back(r);
      ++t_.kept_blocks;
    }

    // Forgets the file begun (its blocks already stored stay as garbage): it is read again whole.
    void restart() {
      flush_frame();
      refs_.clear();
    }

    // A non-zero block: reused (same block at the same place in the previous snapshot, or left
    // by a killed backup) or gathered into the frame being built.
    void block(ByteView b, const io::Digest& digest) {
      std::size_t index = refs_.size();
      BlockId id = codec_.id_of_digest(digest);
      if (index < prev_refs_.size() && prev_refs_[index].id == id && !prev_refs_[index].is_zero()) {
        BlockRef r = prev_refs_[index];
        r.pack = translate_previous(r.pack);
        refs_.push_back(r);
        ++t_.reused_blocks;
        return;
      }
      if (auto it = t_.orphans.blocks.find(id); it != t_.orphans.blocks.end()) {
        const auto& [orphan_pack, e] = it->second;
        refs_.push_back(BlockRef{id, t_.adopt(t_.orphans.pack_ids[orphan_pack]), e.offset, e.length, e.index});
        ++t_.reused_blocks;
        return;
      }
      frame_slots_.push_back(index);
      frame_ids_.push_back(id);
      frame_data_.insert(frame_data_.end(), b.begin(), b.end());
      refs_.push_back(BlockRef{});
      if (frame_ids_.size() == repo::kMaxFrameBlocks) flush_frame();
    }

    void zero_block() { refs_.push_back(BlockRef{}); }

    void end(const repo::FileEntry& entry) { add_file(entry, take_refs()); }

    // The references of the blocks begun, every frame flushed; the sink is left empty.
    std::vector<BlockRef> take_refs() {
      flush_frame();
      std::vector<BlockRef> out;
      out.swap(refs_);
      return out;
    }

    // Records the file with its references, in file order, and their digest.
    void add_file(const repo::FileEntry& entry, const std::vector<BlockRef>& refs) {
      repo::FileEntry e = entry;
      repo::FileDigest digest;
      for (const auto& r : refs) r.is_zero() ? digest.add_zero() : digest.add_id(r.id);
      e.sha256 = digest.finish_hex();
      t_.manifest->add(e, refs);
    }

    void record(const repo::FileEntry& entry) { t_.manifest->add(entry, {}); }

    void finish() { close_pack(); }

    Target& target() { return t_; }

   private:
    void flush_frame() {
      if (frame_ids_.empty()) return;
      if (!pack_) open_pack();
      auto entries = pack_->add_frame(codec_, frame_ids_, frame_data_);
      for (std::size_t i = 0; i < entries.size(); ++i)
        refs_[frame_slots_[i]] = BlockRef{entries[i].id, pack_no_, entries[i].offset, entries[i].length, entries[i].index};
      t_.new_blocks += entries.size();
      frame_ids_.clear();
      frame_slots_.clear();
      frame_data_.clear();
      if (pack_->size_bytes() >= t_.repo->settings().pack_target_bytes) close_pack();
    }

    std::uint32_t translate_previous(std::uint32_t prev_no) {
      auto it = translated_.find(prev_no);
      if (it != translated_.end()) return it->second;
      std::uint32_t no = t_.adopt(t_.previous->pack_id(prev_no), false);
      translated_.emplace(prev_no, no);
      return no;
    }

    void open_pack() {
      pack_ = std::make_unique<repo::PackWriter>(t_.repo->store(), t_.repo->key(), repo::new_pack_id(),
                                                 run_.block_bytes_);
      pack_no_ = t_.adopt(pack_->pack_id(), false);
    }

    void close_pack() {
      if (!pack_) return;
      std::uint64_t size = pack_->commit();
      t_.pack_bytes += size;
      t_.claim(pack_->pack_id());
      pack_.reset();
    }

    BackupRun& run_;
    Target& t_;
    repo::BlockCodec codec_;
    std::vector<std::size_t> frame_slots_;
    std::vector<BlockId> frame_ids_;
    Bytes frame_data_;
    std::vector<BlockRef> refs_;
    std::vector<BlockRef> prev_refs_;
    std::optional<std::uint64_t> prev_size_;
    std::unordered_map<std::uint32_t, std::uint32_t> translated_;
    std::unique_ptr<repo::PackWriter> pack_;
    std::uint32_t pack_no_ = 0;
  };

  // Reads each file once and hands every block to one sink per repository.
  class Worker {
   public:
    explicit Worker(BackupRun& run) : run_(run), buf_(kReadChunkBytes) {
      for (auto& t : run.targets_) sinks_.push_back(std::make_unique<Sink>(run, *t));
    }

    void file(const SourceFile& f) {
      if (f.entry.type != repo::EntryType::file) {
        each([&](Sink& s) { s.record(f.entry); });
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
        ReadPlan plan = plan_read(*run_.map_, f.entry.path, in.size(), previous_size(), run_.block_bytes_);
        if (!plan.whole) {
          if (read_by_plan(in, f, plan)) {
            end();
            return;
          }
          // The file shrank under us: the plan no longer fits, read what is there now. The frames
          // in hand are flushed first, while the references they fill are still there.
          each([](Sink& s) { s.restart(); });
          begin(f.entry);
        }
      }
      read_range(in, f, 0, std::numeric_limits<std::uint64_t>::max());
      end();
    }

    void finish() {
      each([](Sink& s) { s.finish(); });
    }

   private:
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

   public:
    // Reads one piece of a file into this worker's sinks and hands its references to the file's
    // SplitFile; the worker that finishes the last piece records the file.
    void piece(const SourceFile& f, const WorkItem& it, SplitFile& sf) {
      const std::uint64_t block = run_.block_bytes_;
      const bool last = it.blocks == 0;
      const std::uint64_t want = last ? std::numeric_limits<std::uint64_t>::max() : it.blocks * block;
      bool gone = false;
      std::uint64_t done = 0;
      begin(f.entry, it.first_block, last ? std::numeric_limits<std::uint64_t>::max() : it.blocks);
      if (std::optional<File> in = open_source(f))
        done = read_range(*in, f, it.first_block * block, want);
      else
        gone = true;
      std::vector<std::vector<BlockRef>> refs;
      each([&](Sink& s) { refs.push_back(s.take_refs()); });

      bool finished;
      {
        std::lock_guard lock(sf.mu);
        for (std::size_t t = 0; t < refs.size(); ++t) {
          auto& into = sf.refs[t];
          if (into.empty()) into.reserve((f.entry.size_bytes + block - 1) / block);
          if (into.size() < it.first_block + refs[t].size()) into.resize(it.first_block + refs[t].size());
          std::copy(refs[t].begin(), refs[t].end(), into.begin() + static_cast<std::ptrdiff_t>(it.first_block));
        }
        sf.size_bytes += done;
        sf.gone = sf.gone || gone;
        sf.shrank = sf.shrank || (!last && done != want);
        finished = --sf.pending == 0;
      }
      if (finished) finish_split(f, sf);
    }

   private:
    // Records a file whose pieces are all read. One that shrank while its pieces were read is
    // read again whole (the blocks its pieces stored stay as garbage); one that went is left out.
    void finish_split(const SourceFile& f, SplitFile& sf) {
      std::vector<std::vector<BlockRef>> refs;
      refs.swap(sf.refs);
      if (sf.gone) return;
      if (sf.shrank) {
        file(f);
        return;
      }
      entry_ = f.entry;
      entry_.size_bytes = sf.size_bytes;
      entry_.block_count = refs.front().size();
      run_.logical_bytes_ += entry_.size_bytes;
      ++run_.files_;
      std::size_t t = 0;
      each([&](Sink& s) { s.add_file(entry_, refs[t++]); });
    }

    // Reads up to `limit` bytes of f from `start` (to its end when there are fewer) into the
    // sinks, a buffer at a time, checking page checksums; returns the bytes read.
    std::uint64_t read_range(File& in, const SourceFile& f, std::uint64_t start, std::uint64_t limit) {
      const bool to_end = limit == std::numeric_limits<std::uint64_t>::max();
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

    // Runs fn on every sink; an error there is one repository's, and says which.
    template <typename Fn>
    void each(Fn&& fn) {
      for (auto& s : sinks_) {
        try {
          fn(*s);
        } catch (const Error& e) {
          throw in_repository(e, s->target(), run_.snapshot_id_);
        }
      }
    }

    void begin(const repo::FileEntry& e, std::uint64_t first_block = 0,
               std::uint64_t blocks = std::numeric_limits<std::uint64_t>::max()) {
      entry_ = e;
      entry_.size_bytes = 0;
      block_count_ = 0;
      each([&](Sink& s) { s.begin(e.path, first_block, blocks); });
    }

    // The smallest size the previous snapshots recorded for the file begun; nullopt when one
    // of them has no such file.
    std::optional<std::uint64_t> previous_size() const {
      std::optional<std::uint64_t> smallest;
      for (const auto& s : sinks_) {
        auto p = s->previous_size();
        if (!p) return std::nullopt;
        if (!smallest || *p < *smallest) smallest = p;
      }
      return smallest;
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
          each([](Sink& s) { s.keep(); });
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
      each([&](Sink& s) { s.end(entry_); });
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
    // by every repository's sink. The chunk's non-zero blocks are hashed side by side (see
    // io/sha256_lanes.h); a zero block's digest depends only on its length and is computed once.
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
        const io::Digest& digest = chunk_digests_[next++];
        each([&](Sink& s) { s.block(b, digest); });
      }
    }

    BackupRun& run_;
    Bytes buf_;
    std::vector<ByteView> chunk_blocks_;          // the non-zero blocks of the chunk in hand
    std::vector<io::Digest> chunk_digests_;
    std::vector<bool> chunk_zero_;
    repo::FileEntry entry_;
    std::uint64_t block_count_ = 0;
    std::vector<std::unique_ptr<Sink>> sinks_;
  };

  void checksum_failure(const std::string& path, std::uint32_t blkno) {
    std::uint64_t n = ++checksum_failures_;
    if (n <= static_cast<std::uint64_t>(opt_.checksum_page_warn_max)) {
      std::lock_guard lock(mu_);
      warnings_.push_back("page checksum mismatch in " + path + " block " + std::to_string(blkno));
    }
  }

  std::vector<std::unique_ptr<Target>>& targets_;
  const std::string& snapshot_id_;
  const BackupOptions& opt_;
  pg::Lsn start_lsn_;
  bool checksums_;
  Progress& progress_;
  io::Codec codec_;
  std::uint32_t block_bytes_;

  mutable std::mutex mu_;
  std::vector<std::string> warnings_;
  std::atomic<std::uint64_t> files_{0};
  std::atomic<std::uint64_t> zero_blocks_{0}, logical_bytes_{0}, checksum_failures_{0}, read_bytes_{0};
  const pg::ChangeMap* map_ = nullptr;
};

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
      continue;  // a damaged leftover is not worth reusing; expire removes it
    }
    auto no = static_cast<std::uint32_t>(o.pack_ids.size());
    o.pack_ids.push_back(id);
    for (const auto& e : entries) o.blocks.emplace(e.id, std::make_pair(no, e));
  }
  return o;
}

// A new snapshot reuses the previous one's blocks where they lie, so they must be in packs this
// pgdr reads: one pack of another format (a development build's) would make every snapshot
// from now on fail to restore. One pack's tail tells, as a repository's packs share a format.
void require_readable_packs(const repo::Repository& repo, const repo::ManifestIndex& previous,
                            const std::string& snapshot_id) {
  if (previous.pack_count() == 0) return;
  auto v = repo::pack_version(repo.store(), previous.pack_id(0));
  if (v && *v != repo::kPackVersion)
    throw Error(ErrorKind::corrupt,
                "snapshot " + snapshot_id + " in repository '" + repo.name() + "' at " + repo.store().describe() +
                    " is stored in packs of format version " + std::to_string(*v) + ", this pgdr reads version " +
                    std::to_string(repo::kPackVersion),
                "back up to a new repository (pgdr init); restore that snapshot with the pgdr that wrote it");
}

// The files of the first pass. On a standby pg_control waits for a pass of its own after every
// other file: its minimum recovery point becomes the restored cluster's end of backup, so it must
// be read after the newest page of any file (what pg_basebackup does too).
std::vector<const SourceFile*> files_of_pass(const SourceTree& tree, bool standby, bool control_pass) {
  std::vector<const SourceFile*> files;
  for (const auto& f : tree.files) {
    bool control = standby && f.entry.path == "global/pg_control";
    if (control == control_pass) files.push_back(&f);
  }
  return files;
}

}  // namespace

BackupResult run_backup(const ClusterConfig& cluster, const std::vector<repo::Repository*>& repos,
                        const BackupOptions& options) {
  if (cluster.pgdata.empty()) throw Error(ErrorKind::config, "[cluster] pgdata is not set");
  if (repos.empty()) throw Error(ErrorKind::internal, "backup to no repository");
  // One pass cuts every file into blocks of one size for all repositories.
  for (const auto* r : repos)
    if (r->settings().block_bytes != repos.front()->settings().block_bytes)
      throw Error(ErrorKind::config,
                  "repositories '" + repos.front()->name() + "' and '" + r->name() + "' use different block sizes (" +
                      std::to_string(repos.front()->settings().block_bytes) + " and " +
                      std::to_string(r->settings().block_bytes) + " bytes): one backup cannot write to both",
                  "back up to each with --repo NAME");
  auto started = std::chrono::steady_clock::now();
  pg::Connection conn(cluster.conninfo);
  const ServerFacts facts = read_server_facts(conn);
  require_backup_possible(facts, conn.describe());
  const int major = pg::major_of(facts.version_num);
  const bool standby = facts.in_recovery;
  if (real_path(facts.data_directory) != real_path(cluster.pgdata))
    throw Error(ErrorKind::config, "[cluster] pgdata is " + cluster.pgdata + " but the server at " + conn.describe() +
                                       " runs on " + facts.data_directory);

  BackupResult result;
  const std::string snapshot_id = repo::new_snapshot_id();
  std::optional<SystemTime> last_full_read;
  // Locks in the configured order, so two backups never each hold what the other waits for.
  std::vector<repo::RepoLock> locks;
  std::vector<std::unique_ptr<Target>> targets;
  for (auto* r : repos) {
    locks.push_back(repo::RepoLock::acquire(r->store(), r->name(), "backup", {options.expire_wait, {"expire"}}));
    auto t = std::make_unique<Target>();
    t->repo = r;
    std::vector<std::string> damaged;
    auto snapshots = repo::list_snapshots(r->store(), r->key(), &damaged);
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
      if (it->system_identifier == facts.system_identifier && it->block_bytes == r->settings().block_bytes) {
        t->previous = std::make_unique<repo::ManifestIndex>(r->store(), it->id, r->key());
        t->previous_id = it->id;
        t->previous_info = *it;
        require_readable_packs(*r, *t->previous, it->id);
        break;
      }
    }
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
      if (it->system_identifier != facts.system_identifier || it->change_source != kFullRead) continue;
      if (auto t0 = parse_iso8601(it->start_time); t0 && (!last_full_read || *t0 > *last_full_read)) last_full_read = t0;
      break;
    }
    t->orphans = load_orphans(*r, snapshots);
    for (const auto& d : damaged) result.warnings.push_back(d + " (blocks are compared with an older snapshot)");
    targets.push_back(std::move(t));
  }

  repo::SnapshotInfo info;
  info.id = snapshot_id;
  info.cluster_name = cluster.name;
  info.system_identifier = facts.system_identifier;
  info.pg_version_num = facts.version_num;
  info.block_bytes = repos.front()->settings().block_bytes;
  info.compression = options.compress;
  info.data_checksums = facts.data_checksums;
  info.wal_segment_bytes = facts.wal_segment_bytes;
  info.pgdr_version = PGDR_VERSION;
  info.taken_on = standby ? repo::kTakenOnStandby : repo::kTakenOnPrimary;

  // A temporary slot keeps the server from recycling WAL the snapshot must copy at the end.
  std::string slot = "pgdr_backup_" + std::to_string(getpid());
  try {
    conn.query("SELECT pg_create_physical_replication_slot($1, true, true)", {slot});
  } catch (const Error& e) {
    result.warnings.push_back(std::string("no temporary replication slot (") + e.what() +
                              "): WAL needed by the snapshot could be recycled before it is copied");
  }
  std::string start_lsn_text;
  try {
    start_lsn_text = conn.query(pg::backup_functions(major).start_sql,
                                {"pgdr " + info.id, options.fast_checkpoint ? "true" : "false"})
                         .scalar();
  } catch (const Error& e) {
    throw Error(e.kind(), "unable to start the backup on " + conn.describe() + ": " + e.what(), e.hint());
  }
  info.start_time = iso8601_ms(wall_now());
  auto start_lsn = pg::parse_lsn(start_lsn_text);
  if (!start_lsn) throw Error(ErrorKind::postgres, "the backup start returned an unreadable LSN: " + start_lsn_text);
  info.start_lsn = start_lsn_text;
  const WalPlace start_place = wal_place_at_start(conn, start_lsn_text, standby, facts.wal_segment_bytes);
  info.first_wal_segment = start_place.file;
  info.timeline = start_place.timeline;

  ChangeQuery query;
  query.force_full_read = options.full_read;
  query.full_read_every = options.full_read_every;
  query.now = wall_now();
  query.last_full_read = last_full_read;
  for (auto& t : targets) {
    query.previous.push_back(t->previous_info);
    query.repos.push_back(t->repo);
  }
  query.system_identifier = std::stoull(facts.system_identifier);
  query.data_checksums = facts.data_checksums;
  query.segment_bytes = facts.wal_segment_bytes;
  query.major = major;
  query.start_lsn = *start_lsn;
  query.timeline = info.timeline;
  query.pgdata = cluster.pgdata;
  query.summaries_wait = options.summaries_wait;
  Changes changes = find_changes(conn, query);
  info.change_source = changes.source;
  info.change_reason = changes.reason;

  SourceTree tree = scan_source(cluster.pgdata, pg::tablespace_version_prefix(major));
  for (auto& w : tree.warnings) result.warnings.push_back(std::move(w));
  for (const auto& [oid, location] : tree.tablespaces) info.tablespaces.push_back({oid, location});

  for (auto& t : targets) {
    try {
      t->manifest = std::make_unique<repo::ManifestWriter>(t->repo->store(), info.id, t->repo->key(), info.block_bytes);
    } catch (const Error& e) {
      throw in_repository(e, *t, info.id);
    }
  }
  Progress progress("backup", tree.total_bytes);
  BackupRun run(targets, info.id, options, *start_lsn, facts.data_checksums, progress);
  run.read_by(changes.map ? &*changes.map : nullptr);
  run.run_files(files_of_pass(tree, standby, false));
  if (standby) run.run_files(files_of_pass(tree, standby, true));
  // The WAL the snapshot carries is read whole, like every file no map covers.
  run.read_by(nullptr);

  pg::QueryResult stop;
  try {
    stop = conn.query(pg::backup_functions(major).stop_sql);
  } catch (const Error& e) {
    throw Error(e.kind(), "unable to stop the backup on " + conn.describe() + ": " + e.what(), e.hint());
  }
  info.stop_time = iso8601_ms(wall_now());
  info.stop_lsn = *stop.rows.at(0).at(0);
  std::string label = *stop.rows.at(0).at(1);
  info.last_wal_segment =
      wal_place_at_stop(conn, info.stop_lsn, label, standby, info.timeline, facts.wal_segment_bytes).file;
  if (standby) info.replay_lsn = info.stop_lsn;

  // The WAL from start to stop makes the snapshot consistent on its own.
  auto first = pg::parse_segment_file_name(info.first_wal_segment, facts.wal_segment_bytes);
  auto last = pg::parse_segment_file_name(info.last_wal_segment, facts.wal_segment_bytes);
  if (!first || !last) throw Error(ErrorKind::postgres, "unreadable WAL file names from the server");
  // The label goes with the WAL, in the same pass, so it shares their packs.
  std::vector<SourceFile> wal;
  SourceFile label_file;
  label_file.entry.path = "backup_label";
  label_file.entry.mode = 0600;
  label_file.entry.mtime = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  label_file.entry.size_bytes = label.size();
  label_file.content = label;
  wal.push_back(std::move(label_file));
  for (std::uint64_t seg = first->segno; seg <= last->segno; ++seg) {
    std::string name = pg::segment_file_name(info.timeline, seg, facts.wal_segment_bytes);
    SourceFile f;
    f.entry.path = "pg_wal/" + name;
    f.entry.mode = 0600;
    f.entry.size_bytes = facts.wal_segment_bytes;
    f.source_path = cluster.pgdata + "/pg_wal/" + name;
    f.required = true;
    wal.push_back(std::move(f));
  }
  std::vector<const SourceFile*> wal_ptrs;
  for (const auto& f : wal) wal_ptrs.push_back(&f);
  progress.set_total(tree.total_bytes + (wal.size() - 1) * facts.wal_segment_bytes);
  run.run_files(wal_ptrs);
  progress.finish();
  try {
    conn.query("SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1", {slot});
  } catch (const Error&) {
    // A temporary slot goes with the session anyway.
  }

  info.file_count = run.files();
  info.logical_bytes = run.logical_bytes();
  info.zero_blocks = run.zero_blocks();
  info.checksum_failures = run.checksum_failures();
  info.read_bytes = run.read_bytes();
  for (auto& w : run.warnings()) result.warnings.push_back(std::move(w));
  // Every manifest first: until each repository holds all of its snapshot, none shows it.
  for (auto& t : targets) {
    repo::SnapshotInfo ri = info;
    try {
      ri.manifest_bytes = t->manifest->commit();
    } catch (const Error& e) {
      throw in_repository(e, *t, info.id);
    }
    ri.previous_snapshot = t->previous_id;
    ri.block_bytes = t->repo->settings().block_bytes;
    ri.new_blocks = t->new_blocks;
    ri.reused_blocks = t->reused_blocks + t->kept_blocks;
    ri.unread_blocks = t->kept_blocks;
    ri.packs = t->packs;
    ri.stored_bytes = t->pack_bytes + ri.manifest_bytes;
    result.per_repo.push_back(std::move(ri));
  }
  // Last: the info object makes the snapshot exist, one repository after the other.
  std::vector<std::string> committed;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto& ri = result.per_repo[i];
    ri.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    try {
      repo::write_snapshot_info(targets[i]->repo->store(), targets[i]->repo->key(), ri);
    } catch (const Error& e) {
      Error named = in_repository(e, *targets[i], info.id);
      std::string where;
      for (const auto& c : committed) where += (where.empty() ? "'" : ", '") + c + "'";
      throw Error(named.kind(),
                  std::string(named.what()) + (committed.empty() ? "" : "; the snapshot is complete in repository " +
                                                                            where + " only"),
                  named.hint());
    }
    committed.push_back(targets[i]->repo->name());
  }
  for (auto& l : locks) l.release();
  result.info = result.per_repo.front();
  return result;
}

}  // namespace pgdr::backup
