#include "backup/archive_changes.h"

#include <algorithm>

#include "core/error.h"
#include "core/file.h"
#include "pg/segment_summary.h"
#include "pg/wal_reader.h"
#include "repo/wal_archive.h"
#include "repo/wal_file_check.h"
#include "repo/wal_summary.h"

namespace pgdr::backup {

namespace {

struct Segment {
  std::uint32_t timeline = 0;
  std::uint64_t segno = 0;
  std::string name;
};

// Every answer that means "no map" is thrown as Error(corrupt) inside the builder and becomes the
// reason at its edge; other kinds are failures of the environment and go to the caller.
[[noreturn]] void no_map(const std::string& reason) { throw Error(ErrorKind::corrupt, reason); }

constexpr std::uint16_t kFirstIsContrecord = 0x0001;  // XLP_FIRST_IS_CONTRECORD, access/xlog_internal.h

class ChangeBuilder {
 public:
  explicit ChangeBuilder(const ArchiveChangesRequest& req)
      : req_(req), repo_(*req.repo), pg_wal_(req.data_directory.empty() ? "" : req.data_directory + "/pg_wal") {
    known_.system_identifiers.insert(req.system_identifier);
    known_.segment_bytes = req.segment_bytes;
    known_.source = "the cluster's system identifier";
  }

  ArchiveChanges run() {
    try {
      auto segments = covered_segments();
      for (std::size_t i = 0; i < segments.size(); ++i) take(segments[i], i + 1 == segments.size());
      out_.map = std::move(map_);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
      out_.map.reset();
      out_.reason = e.what();
    }
    return std::move(out_);
  }

 private:
  // The segments whose records the path needs, in WAL order. Where a timeline switches in the
  // middle of a segment, the child timeline's segment holds the parent's records up to the switch
  // (PostgreSQL copies them when it creates the timeline), so it replaces the parent's.
  std::vector<Segment> covered_segments() const {
    std::vector<Segment> out;
    for (const auto& t : req_.path) {
      if (t.end.value <= t.begin.value) continue;
      std::uint64_t first = pg::segment_number(t.begin, req_.segment_bytes);
      std::uint64_t last = pg::segment_number(pg::Lsn{t.end.value - 1}, req_.segment_bytes);
      while (!out.empty() && out.back().segno >= first) out.pop_back();
      for (std::uint64_t s = first; s <= last; ++s)
        out.push_back({t.timeline, s, pg::segment_file_name(t.timeline, s, req_.segment_bytes)});
    }
    return out;
  }

  pg::Lsn end_lsn() const { return req_.path.back().end; }

  // Whether a summary continues what came before. The first segment's head lies before the
  // stretch; a segment where no record ends passes the chain through only when its head is
  // complete (else the record crossing into it, ending there, may be left out); otherwise its first
  // record must name the last one summarised.
  bool links(const pg::SegmentSummary& s) const {
    if (!prev_) return true;
    if (!s.first_record) return s.head_complete;
    return !prev_last_ || s.first_prev == *prev_last_;
  }

  std::string link_problem(const Segment& s, const pg::SegmentSummary& summary) const {
    if (!summary.first_record)
      return "WAL segment " + s.name + " cannot be linked to segment " + prev_->name +
             " (no record ends in it, and the one crossing into it cannot be read)";
    return link_problem(s, summary.first_prev);
  }
  std::string link_problem(const Segment& s, pg::Lsn first_prev) const {
    return "WAL segment " + s.name + " does not follow segment " + prev_->name + " (its first record names " +
           pg::to_string(first_prev) + " as the one before, " + prev_->name + " ends with the record at " +
           pg::to_string(*prev_last_) + ")";
  }

  void check_system(const Segment& s, std::uint64_t system_identifier) const {
    if (system_identifier != req_.system_identifier)
      no_map("WAL segment " + s.name + " is of system " + std::to_string(system_identifier) + ", not of system " +
             std::to_string(req_.system_identifier));
  }

  void accept(const Segment& s, const std::optional<pg::Lsn>& first_record, pg::Lsn last_record) {
    if (first_record) prev_last_ = last_record;
    prev_ = s;
  }

  void take(const Segment& s, bool last) {
    std::optional<pg::SegmentSummary> summary;
    try {
      summary = repo::read_segment_summary(repo_, s.name, &out_.bytes_read);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
    }
    // A summary of the wrong shape is treated as damaged: the segment is summarised again.
    if (summary && (summary->timeline != s.timeline || summary->segment_bytes != req_.segment_bytes)) summary.reset();
    if (summary) {
      check_system(s, summary->system_identifier);
      if (links(*summary)) {
        map_.merge(summary->map);
        ++out_.from_summaries;
        accept(s, summary->first_record, summary->last_record);
        prev_bytes_.reset();
        return;
      }
    }
    auto content = archived(s);
    if (!content) return read_local(s, last);
    // A stored summary whose link broke lacks its head: the previous segment is needed at once.
    rebuild(s, std::move(*content), summary.has_value());
  }

  // The archived segment, checked as archive-get checks it; nullopt when it is not archived.
  std::optional<Bytes> archived(const Segment& s) {
    auto content = repo::fetch_wal_file(repo_, s.name);
    if (!content) return std::nullopt;
    out_.bytes_read += content->size();
    if (auto problem = repo::wal_file_problem(s.name, *content, known_))
      no_map("WAL segment " + s.name + " in " + repo_.describe() + ": " + *problem);
    return content;
  }

  // The previous segment's bytes for the head of s, from memory, the archive or pg_wal.
  std::optional<Bytes> previous_bytes() {
    if (!prev_) return std::nullopt;
    if (prev_bytes_) {
      std::optional<Bytes> held = std::move(prev_bytes_);
      prev_bytes_.reset();
      return held;
    }
    if (auto content = archived(*prev_)) return content;
    if (pg_wal_.empty()) return std::nullopt;
    auto local = read_file(pg_wal_ + "/" + prev_->name);
    if (local && local->size() == req_.segment_bytes && !repo::wal_file_problem(prev_->name, *local, known_)) {
      out_.bytes_read += local->size();
      return local;
    }
    return std::nullopt;
  }

  void rebuild(const Segment& s, Bytes content, bool head_needed) {
    auto summarize = [&](std::optional<ByteView> previous) {
      auto summary = pg::summarize_segment(s.name, content, previous, req_.segment_bytes);
      check_system(s, summary.system_identifier);
      return summary;
    };
    std::optional<Bytes> previous = head_needed ? previous_bytes() : std::move(prev_bytes_);
    prev_bytes_.reset();
    auto summary = summarize(previous ? std::optional<ByteView>(*previous) : std::nullopt);
    if (!links(summary) && !previous) {
      // Written without its head (the previous segment was gone from pg_wal): with it, the record
      // that crosses into this segment is summarised and the link can hold.
      previous = previous_bytes();
      if (previous) summary = summarize(ByteView(*previous));
    }
    if (!links(summary)) no_map(link_problem(s, summary));
    map_.merge(summary.map);
    ++out_.rebuilt;
    accept(s, summary.first_record, summary.last_record);
    prev_bytes_ = std::move(content);
  }

  // A segment PostgreSQL has not archived yet: its records up to the end of the stretch. The
  // segment holding the end is still being written; it is cut at the end (zeros from there), so
  // a record being written after it is never decoded and cannot fail a CRC.
  void read_local(const Segment& s, bool last) {
    if (pg_wal_.empty()) no_map("WAL segment " + s.name + " is missing: not archived in " + repo_.describe());
    std::string path = pg_wal_ + "/" + s.name;
    auto content = read_file(path);
    if (!content)
      no_map("WAL segment " + s.name + " is missing: not archived in " + repo_.describe() + ", not in " + pg_wal_);
    out_.bytes_read += content->size();
    if (auto problem = repo::wal_file_problem(s.name, *content, known_)) no_map("WAL segment " + path + ": " + *problem);
    std::uint64_t seg_start = s.segno * req_.segment_bytes;
    bool ends_here = last && end_lsn().value < seg_start + req_.segment_bytes;
    if (ends_here) std::fill(content->begin() + static_cast<std::ptrdiff_t>(end_lsn().value - seg_start), content->end(), 0);

    // Fed first, the previous segment lets the reader complete the record that crosses into this
    // one; once next() has returned nullptr the reader has copied what it still needs of it.
    std::optional<pg::WalReader> reader;
    reader.emplace(req_.segment_bytes);
    bool head_read = !prev_;
    if (auto previous = prev_ ? previous_bytes() : std::nullopt) {
      reader->feed(prev_->name, *previous);
      while (reader->next()) {
      }
      head_read = !reader->ended();
      // A previous segment that ends the WAL cannot be continued: this one is read on its own and
      // the link check judges.
      if (!head_read) reader.emplace(req_.segment_bytes);
    }
    auto page = pg::decode_wal_page_header(*content);
    if (!head_read && page && (page->info & kFirstIsContrecord))
      no_map("WAL segment " + path + " continues a record from segment " + prev_->name +
             ", which is neither archived nor in pg_wal");
    reader->feed(s.name, *content);
    std::optional<pg::Lsn> first;
    pg::Lsn last_record;
    while (const pg::WalRecord* rec = reader->next()) {
      if (ends_here && rec->lsn.value >= end_lsn().value) break;
      if (!first) {
        first = rec->lsn;
        if (prev_ && prev_last_ && rec->prev != *prev_last_) no_map(link_problem(s, rec->prev));
      }
      pg::note_wal_record(*rec, reader->major().value_or(0), map_);
      last_record = rec->lsn;
    }
    if (auto sysid = reader->system_identifier()) check_system(s, *sysid);
    if (ends_here && reader->position().value < end_lsn().value)
      no_map("the WAL in " + path + " ends at " + pg::to_string(reader->position()) + ", before " +
             pg::to_string(end_lsn()));
    if (!ends_here && reader->ended())
      no_map("the WAL in " + path + " ends at " + pg::to_string(reader->position()) + ", before the segment does");
    ++out_.from_pg_wal;
    accept(s, first, last_record);
    prev_bytes_ = std::move(content);
  }

  const ArchiveChangesRequest& req_;
  const repo::Repository& repo_;
  std::string pg_wal_;  // "" without a data directory
  repo::KnownCluster known_;
  ArchiveChanges out_;
  pg::ChangeMap map_;
  std::optional<Segment> prev_;
  std::optional<pg::Lsn> prev_last_;  // the last record summarised so far; nullopt before any
  std::optional<Bytes> prev_bytes_;   // prev_'s bytes when at hand
};

}  // namespace

ArchiveChanges archive_changes(const ArchiveChangesRequest& request) {
  if (!request.repo) throw Error(ErrorKind::internal, "archive_changes without a repository");
  if (!pg::is_valid_wal_segment_size(request.segment_bytes))
    throw Error(ErrorKind::internal, "archive_changes with an invalid WAL segment size " +
                                         std::to_string(request.segment_bytes));
  return ChangeBuilder(request).run();
}

}  // namespace pgdr::backup
