#include "backup/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "backup/source_files.h"
#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "core/time_format.h"
#include "io/compress.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/page.h"
#include "repo/format.h"
#include "repo/lock.h"
#include "repo/manifest.h"
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

struct ServerFacts {
  int version_num = 0;
  std::string data_directory;
  bool data_checksums = false;
  std::uint64_t wal_segment_bytes = 0;
  std::string system_identifier;
};

ServerFacts read_server_facts(pg::Connection& conn) {
  auto r = conn.query(
      "SELECT current_setting('server_version_num'), current_setting('data_directory'), "
      "current_setting('data_checksums'), (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), "
      "(SELECT system_identifier FROM pg_control_system())::text, pg_is_in_recovery()::text, "
      "current_setting('wal_level')");
  const auto& row = r.rows.at(0);
  ServerFacts f;
  f.version_num = std::stoi(*row[0]);
  f.data_directory = *row[1];
  f.data_checksums = *row[2] == "on";
  f.wal_segment_bytes = std::stoull(*row[3]);
  f.system_identifier = *row[4];
  if (f.version_num < 150000 || f.version_num >= 160000)
    throw Error(ErrorKind::postgres, "unsupported PostgreSQL version " + std::to_string(f.version_num) + " at " +
                                         conn.describe() + " (pgdr supports PostgreSQL 15)");
  if (*row[5] == "true")
    throw Error(ErrorKind::postgres, "the server at " + conn.describe() + " is a standby (backups are taken from the primary)");
  if (*row[6] == "minimal")
    throw Error(ErrorKind::postgres, "wal_level is minimal at " + conn.describe() + " (online backups need replica or logical)");
  return f;
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!realpath(p.c_str(), buf)) return p;
  return buf;
}

class BackupRun {
 public:
  BackupRun(repo::Repository& repo, const BackupOptions& opt, repo::ManifestWriter& manifest,
            const repo::ManifestIndex* previous, OrphanBlocks& orphans, pg::Lsn start_lsn, bool checksums,
            Progress& progress)
      : repo_(repo),
        opt_(opt),
        manifest_(manifest),
        previous_(previous),
        orphans_(orphans),
        start_lsn_(start_lsn),
        checksums_(checksums),
        progress_(progress),
        codec_(*io::codec_from_string(opt.compress)) {}

  // Backs files up on process_max threads, largest first so that no thread is left with a big
  // file at the end. Rethrows the first worker error after stopping every worker.
  void run_files(const std::vector<const SourceFile*>& files) {
    std::vector<const SourceFile*> order = files;
    std::stable_sort(order.begin(), order.end(),
                     [](auto* a, auto* b) { return a->entry.size_bytes > b->entry.size_bytes; });
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    int n = std::max(1, std::min<int>(opt_.process_max, static_cast<int>(order.size())));
    for (int t = 0; t < n; ++t) {
      threads.emplace_back([&] {
        Worker w(*this);
        try {
          for (std::size_t i; !failed_.load() && (i = next.fetch_add(1)) < order.size();) {
            if (interrupt_requested()) throw_if_interrupted();
            w.file(*order[i]);
          }
          w.finish();
        } catch (...) {
          fail(std::current_exception());
        }
      });
    }
    for (auto& t : threads) t.join();
    if (error_) std::rethrow_exception(error_);
  }

  void record(const repo::FileEntry& e, const std::vector<BlockRef>& refs) {
    manifest_.add(e, refs);
    if (e.type == repo::EntryType::file) ++files_;
  }
  std::uint64_t files() const { return files_; }

  std::uint64_t new_blocks() const { return new_blocks_; }
  std::uint64_t reused_blocks() const { return reused_blocks_; }
  std::uint64_t zero_blocks() const { return zero_blocks_; }
  std::uint64_t logical_bytes() const { return logical_bytes_; }
  std::uint64_t pack_bytes() const { return pack_bytes_; }
  std::uint64_t checksum_failures() const { return checksum_failures_; }
  std::vector<std::string> packs() const {
    std::lock_guard lock(mu_);
    return packs_;
  }
  std::vector<std::string> warnings() const {
    std::lock_guard lock(mu_);
    return warnings_;
  }

 private:
  class Worker {
   public:
    explicit Worker(BackupRun& run)
        : run_(run), codec_(run.repo_.key(), run.codec_, run.opt_.compress_level), buf_(kReadChunkBytes) {}

    void file(const SourceFile& f) {
      if (f.entry.type != repo::EntryType::file) {
        run_.record(f.entry, {});
        return;
      }
      if (f.content) {
        buffer(f.entry, as_bytes(*f.content));
        return;
      }
      int fd = ::open(f.source_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        // A relation dropped while we worked is accounted for by WAL replay; WAL itself is not.
        if (errno == ENOENT && !f.required) return;
        if (errno == ENOENT)
          throw Error(ErrorKind::not_found, "WAL segment " + f.entry.path + " needed by the snapshot is gone from " +
                                                f.source_path.substr(0, f.source_path.rfind('/')),
                      "allow a temporary replication slot (max_replication_slots > 0) so the server keeps it");
        throw_errno("unable to open", f.source_path, errno);
      }
      File in = File::adopt(fd, f.source_path);
      posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      begin(f.entry);
      std::uint64_t offset = 0;
      for (;;) {
        std::size_t got = in.read_at(buf_.data(), buf_.size(), offset);
        if (got == 0) break;
        if (f.relation && run_.checksums_) check_pages(in, f, offset, got);
        blocks(ByteView(buf_.data(), got));
        offset += got;
        if (got < buf_.size()) break;
      }
      end();
    }

    void buffer(repo::FileEntry e, ByteView data) {
      begin(e);
      blocks(data);
      end();
    }

    void finish() { close_pack(); }

   private:
    void begin(const repo::FileEntry& e) {
      entry_ = e;
      entry_.size_bytes = 0;
      refs_.clear();
      prev_refs_.clear();
      if (run_.previous_) {
        if (const auto* p = run_.previous_->find(e.path); p && p->file.type == repo::EntryType::file)
          prev_refs_ = run_.previous_->blocks(*p);
      }
    }

    void end() {
      flush_frame();
      entry_.sha256 = to_hex(file_sha_.finish());
      entry_.block_count = refs_.size();
      run_.logical_bytes_ += entry_.size_bytes;
      run_.record(entry_, refs_);
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

    // Each block is named, then reused (same block at the same place in the previous snapshot, or
    // left by a killed backup), recorded as zeroes, or gathered into the frame being built.
    void blocks(ByteView data) {
      const std::size_t block = run_.repo_.settings().block_bytes;
      for (std::size_t off = 0; off < data.size(); off += block) {
        ByteView b = data.subspan(off, std::min(block, data.size() - off));
        std::size_t index = refs_.size();
        entry_.size_bytes += b.size();
        run_.progress_.add(b.size());
        io::Digest digest = codec_.digest_of(b);
        file_sha_.update(digest);
        if (pg::page_is_zero(b)) {
          refs_.push_back(BlockRef{});
          ++run_.zero_blocks_;
          continue;
        }
        BlockId id = codec_.id_of_digest(digest);
        if (index < prev_refs_.size() && prev_refs_[index].id == id && !prev_refs_[index].is_zero()) {
          BlockRef r = prev_refs_[index];
          r.pack = translate_previous(r.pack);
          refs_.push_back(r);
          ++run_.reused_blocks_;
          continue;
        }
        if (auto it = run_.orphans_.blocks.find(id); it != run_.orphans_.blocks.end()) {
          const auto& [orphan_pack, e] = it->second;
          refs_.push_back(BlockRef{id, run_.adopt(run_.orphans_.pack_ids[orphan_pack]), e.offset, e.length, e.index});
          ++run_.reused_blocks_;
          continue;
        }
        frame_slots_.push_back(index);
        frame_ids_.push_back(id);
        frame_data_.insert(frame_data_.end(), b.begin(), b.end());
        refs_.push_back(BlockRef{});
        if (frame_ids_.size() == repo::kMaxFrameBlocks) flush_frame();
      }
    }

    void flush_frame() {
      if (frame_ids_.empty()) return;
      if (!pack_) open_pack();
      auto entries = pack_->add_frame(codec_, frame_ids_, frame_data_, run_.repo_.settings().block_bytes);
      for (std::size_t i = 0; i < entries.size(); ++i)
        refs_[frame_slots_[i]] = BlockRef{entries[i].id, pack_no_, entries[i].offset, entries[i].length, entries[i].index};
      run_.new_blocks_ += entries.size();
      frame_ids_.clear();
      frame_slots_.clear();
      frame_data_.clear();
      if (pack_->size_bytes() >= run_.repo_.settings().pack_target_bytes) close_pack();
    }

    std::uint32_t translate_previous(std::uint32_t prev_no) {
      auto it = translated_.find(prev_no);
      if (it != translated_.end()) return it->second;
      std::uint32_t no = run_.adopt(run_.previous_->pack_id(prev_no), false);
      translated_.emplace(prev_no, no);
      return no;
    }

    void open_pack() {
      pack_ = std::make_unique<repo::PackWriter>(run_.repo_.store(), run_.repo_.key(), repo::new_pack_id());
      pack_no_ = run_.adopt(pack_->pack_id(), false);
    }

    void close_pack() {
      if (!pack_) return;
      std::uint64_t size = pack_->commit();
      run_.pack_bytes_ += size;
      run_.claim(pack_->pack_id());
      pack_.reset();
    }

    BackupRun& run_;
    repo::BlockCodec codec_;
    Bytes buf_;
    io::Sha256 file_sha_;  // over the blocks' digests
    repo::FileEntry entry_;
    std::vector<std::size_t> frame_slots_;
    std::vector<BlockId> frame_ids_;
    Bytes frame_data_;
    std::vector<BlockRef> refs_;
    std::vector<BlockRef> prev_refs_;
    std::unordered_map<std::uint32_t, std::uint32_t> translated_;
    std::unique_ptr<repo::PackWriter> pack_;
    std::uint32_t pack_no_ = 0;
  };

  // The manifest number of pack_id, declaring it on first use. Orphan packs adopted this way join
  // the snapshot's own pack list, so they are no longer orphans.
  std::uint32_t adopt(const std::string& pack_id, bool claim_it = true) {
    std::lock_guard lock(mu_);
    auto it = pack_numbers_.find(pack_id);
    if (it != pack_numbers_.end()) return it->second;
    std::uint32_t no = manifest_.declare_pack(pack_id);
    pack_numbers_.emplace(pack_id, no);
    if (claim_it) packs_.push_back(pack_id);
    return no;
  }

  void claim(const std::string& pack_id) {
    std::lock_guard lock(mu_);
    packs_.push_back(pack_id);
  }

  void checksum_failure(const std::string& path, std::uint32_t blkno) {
    std::uint64_t n = ++checksum_failures_;
    if (n <= static_cast<std::uint64_t>(opt_.checksum_page_warn_max)) {
      std::lock_guard lock(mu_);
      warnings_.push_back("page checksum mismatch in " + path + " block " + std::to_string(blkno));
    }
  }

  void fail(std::exception_ptr e) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = e;
    failed_ = true;
  }

  repo::Repository& repo_;
  const BackupOptions& opt_;
  repo::ManifestWriter& manifest_;
  const repo::ManifestIndex* previous_;
  OrphanBlocks& orphans_;
  pg::Lsn start_lsn_;
  bool checksums_;
  Progress& progress_;
  io::Codec codec_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::uint32_t> pack_numbers_;
  std::vector<std::string> packs_;
  std::vector<std::string> warnings_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::atomic<std::uint64_t> files_{0};
  std::atomic<std::uint64_t> new_blocks_{0}, reused_blocks_{0}, zero_blocks_{0}, logical_bytes_{0}, pack_bytes_{0},
      checksum_failures_{0};
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
      entries = repo::read_pack_trailer(repo.store(), repo.key(), id);
    } catch (const Error&) {
      continue;  // a damaged leftover is not worth reusing; expire removes it
    }
    auto no = static_cast<std::uint32_t>(o.pack_ids.size());
    o.pack_ids.push_back(id);
    for (const auto& e : entries) o.blocks.emplace(e.id, std::make_pair(no, e));
  }
  return o;
}

std::string timeline_of(const std::string& walfile) { return walfile.substr(0, 8); }

}  // namespace

BackupResult run_backup(const ClusterConfig& cluster, repo::Repository& repo, const BackupOptions& options) {
  if (cluster.pgdata.empty()) throw Error(ErrorKind::config, "[cluster] pgdata is not set");
  auto started = std::chrono::steady_clock::now();
  pg::Connection conn(cluster.conninfo);
  ServerFacts facts = read_server_facts(conn);
  if (real_path(facts.data_directory) != real_path(cluster.pgdata))
    throw Error(ErrorKind::config, "[cluster] pgdata is " + cluster.pgdata + " but the server at " + conn.describe() +
                                       " runs on " + facts.data_directory);

  repo::RepoLock lock = repo::RepoLock::acquire(repo.store(), repo.name(), "backup");
  std::vector<std::string> damaged;
  auto snapshots = repo::list_snapshots(repo.store(), repo.key(), &damaged);
  std::unique_ptr<repo::ManifestIndex> previous;
  std::string previous_id;
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    if (it->system_identifier == facts.system_identifier && it->block_bytes == repo.settings().block_bytes) {
      previous = std::make_unique<repo::ManifestIndex>(repo.store(), it->id, repo.key());
      previous_id = it->id;
      break;
    }
  }
  OrphanBlocks orphans = load_orphans(repo, snapshots);

  BackupResult result;
  for (const auto& d : damaged) result.warnings.push_back(d + " (blocks are compared with an older snapshot)");
  repo::SnapshotInfo& info = result.info;
  info.id = repo::new_snapshot_id();
  info.cluster_name = cluster.name;
  info.system_identifier = facts.system_identifier;
  info.pg_version_num = facts.version_num;
  info.previous_snapshot = previous_id;
  info.block_bytes = repo.settings().block_bytes;
  info.compression = options.compress;
  info.data_checksums = facts.data_checksums;
  info.wal_segment_bytes = facts.wal_segment_bytes;
  info.pgdr_version = PGDR_VERSION;

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
    start_lsn_text = conn.query("SELECT pg_backup_start($1, $2)::text",
                                {"pgdr " + info.id, options.fast_checkpoint ? "true" : "false"})
                         .scalar();
  } catch (const Error& e) {
    throw Error(e.kind(), "unable to start the backup on " + conn.describe() + ": " + e.what(), e.hint());
  }
  info.start_time = iso8601_ms(std::chrono::system_clock::now());
  auto start_lsn = pg::parse_lsn(start_lsn_text);
  if (!start_lsn) throw Error(ErrorKind::postgres, "pg_backup_start returned an unreadable LSN");
  info.start_lsn = start_lsn_text;
  info.first_wal_segment = conn.query("SELECT pg_walfile_name($1)", {start_lsn_text}).scalar();
  info.timeline = static_cast<std::uint32_t>(std::stoul(timeline_of(info.first_wal_segment), nullptr, 16));

  std::string prefix = "PG_" + std::to_string(facts.version_num / 10000) + "_";
  SourceTree tree = scan_source(cluster.pgdata, prefix);
  for (auto& w : tree.warnings) result.warnings.push_back(std::move(w));
  for (const auto& [oid, location] : tree.tablespaces) info.tablespaces.push_back({oid, location});

  repo::ManifestWriter manifest(repo.store(), info.id, repo.key(), repo.settings().block_bytes);
  Progress progress("backup", tree.total_bytes);
  BackupRun run(repo, options, manifest, previous.get(), orphans, *start_lsn, facts.data_checksums, progress);
  std::vector<const SourceFile*> files;
  for (const auto& f : tree.files) files.push_back(&f);
  run.run_files(files);

  pg::QueryResult stop;
  try {
    stop = conn.query("SELECT lsn::text, labelfile FROM pg_backup_stop(false)");
  } catch (const Error& e) {
    throw Error(e.kind(), "unable to stop the backup on " + conn.describe() + ": " + e.what(), e.hint());
  }
  info.stop_time = iso8601_ms(std::chrono::system_clock::now());
  info.stop_lsn = *stop.rows.at(0).at(0);
  std::string label = *stop.rows.at(0).at(1);
  info.last_wal_segment = conn.query("SELECT pg_walfile_name($1)", {info.stop_lsn}).scalar();

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

  info.manifest_bytes = manifest.commit();
  info.file_count = run.files();
  info.logical_bytes = run.logical_bytes();
  info.new_blocks = run.new_blocks();
  info.reused_blocks = run.reused_blocks();
  info.zero_blocks = run.zero_blocks();
  info.packs = run.packs();
  info.checksum_failures = run.checksum_failures();
  info.stored_bytes = run.pack_bytes() + info.manifest_bytes;
  info.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (auto& w : run.warnings()) result.warnings.push_back(std::move(w));
  // Last: this object makes the snapshot exist.
  repo::write_snapshot_info(repo.store(), repo.key(), info);
  lock.release();
  return result;
}

}  // namespace pgdr::backup
