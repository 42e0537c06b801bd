#include "stream/wal_receiver.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "pg/replication_stream.h"
#include "repo/format.h"
#include "repo/wal_archive.h"
#include "repo/wal_stream_journal.h"
#include "repo/wal_stream_objects.h"
#include "repo/wal_summary.h"

namespace pgdr::stream {

namespace {

using Clock = std::chrono::steady_clock;

// The status object is rewritten at most this often between segment ends: it is for monitoring
// (measure, info), and resuming relies on the chunks, not on it.
constexpr auto kStatusObjectInterval = std::chrono::seconds(1);

std::string zero_padded_partial_name(const std::string& segment) { return segment + ".partial"; }

}  // namespace

std::string default_slot_name(const std::string& cluster_name) {
  std::string out = "pgdr_";
  for (char c : cluster_name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' ? l : '_');
  }
  if (out.size() > 63) out.resize(63);
  return out;
}

void check_slot_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (!ok)
    throw Error(ErrorKind::usage, "invalid replication slot name '" + name + "'",
                "slot names have 1 to 63 characters among lower-case letters, digits and '_'");
}

WalReceiver::WalReceiver(std::vector<repo::Repository>& repos, ReceiverOptions options)
    : repos_(repos), opt_(std::move(options)) {
  check_slot_name(opt_.slot);
  if (repos_.empty()) throw Error(ErrorKind::config, "wal-stream needs at least one [[repo]]");
}

// Everything one connection needs; a reconnect starts a new one from what the repositories hold.
struct WalReceiver::Session {
  WalReceiver& r;
  pg::ReplicationConnection conn;
  pg::SystemIdentity id;
  std::uint64_t seg_bytes = 0;
  std::uint32_t timeline = 0;
  std::uint64_t segno = 0;
  Bytes seg_data;                 // the current segment from offset 0 up to what was received
  std::uint64_t flushed_off = 0;  // durable in every repository up to here
  pg::Lsn server_wal_end;
  SystemTime server_seen_at{};
  SystemTime flushed_at{};
  Clock::time_point last_flush = Clock::now();
  Clock::time_point last_status_sent = Clock::now();
  Clock::time_point last_status_object{};
  bool progress = false;
  // The segment completed last, kept for the head of the next one's summary.
  Bytes previous_seg;
  std::uint64_t previous_segno = 0;
  // Per repository that updates in place, the journal the current segment's flushes append to.
  std::vector<std::unique_ptr<repo::JournalWriter>> journals;

  Session(WalReceiver& owner, const std::string& conninfo) : r(owner), conn(conninfo, owner.opt_.application_name) {}

  std::string segment_name() const { return pg::segment_file_name(timeline, segno, seg_bytes); }
  pg::Lsn segment_start() const { return pg::Lsn{segno * seg_bytes}; }
  pg::Lsn received() const { return pg::Lsn{segment_start().value + seg_data.size()}; }
  pg::Lsn flushed() const { return pg::Lsn{segment_start().value + flushed_off}; }

  void write_status(bool running) {
    repo::StreamStatus s;
    s.system_identifier = id.system_identifier;
    s.timeline = timeline;
    s.flushed_lsn = pg::to_string(flushed());
    s.flushed_at = iso8601_ms(flushed_at.time_since_epoch().count() ? flushed_at : std::chrono::system_clock::now());
    s.server_wal_end = pg::to_string(server_wal_end);
    s.server_seen_at =
        iso8601_ms(server_seen_at.time_since_epoch().count() ? server_seen_at : std::chrono::system_clock::now());
    s.slot = r.opt_.slot;
    s.application_name = r.opt_.application_name;
    s.synchronous = r.opt_.synchronous;
    s.running = running;
    for (const auto& repo : r.repos_) repo::write_stream_status(repo, s);
    last_status_object = Clock::now();
  }

  // Makes everything received durable in every repository.
  void flush() {
    if (seg_data.size() > flushed_off) {
      ByteView fresh(seg_data.data() + flushed_off, seg_data.size() - flushed_off);
      journals.resize(r.repos_.size());
      for (std::size_t i = 0; i < r.repos_.size(); ++i) {
        const auto& repo = r.repos_[i];
        try {
          store_fresh(repo, journals[i], fresh);
        } catch (const Error& e) {
          throw Error(e.kind(),
                      "unable to store streamed WAL of " + segment_name() + " in " + repo.describe() + ": " + e.what());
        }
      }
      flushed_off = seg_data.size();
      flushed_at = std::chrono::system_clock::now();
      progress = true;
    }
    last_flush = Clock::now();
  }

  // Called once the server has heard of a flush: the status object costs a file of its own, which
  // no commit waiting on this receiver should wait for.
  void write_status_if_due() {
    if (Clock::now() - last_status_object >= kStatusObjectInterval) write_status(true);
  }

  // A local repository gets the bytes as one more record of the segment's journal (one device
  // flush); an object store, as a chunk object of their own.
  void store_fresh(const repo::Repository& repo, std::unique_ptr<repo::JournalWriter>& journal, ByteView fresh) {
    if (!repo.store().capabilities().update_in_place) {
      repo::write_stream_chunk(repo, segment_name(), flushed_off, fresh);
      return;
    }
    if (!journal || journal->segment_name() != segment_name() || journal->end() != flushed_off ||
        !journal->fits(fresh.size())) {
      journal.reset();
      journal = std::make_unique<repo::JournalWriter>(repo, segment_name(), flushed_off, seg_bytes);
    }
    journal->append(fresh);
  }

  void report() {
    conn.send_status(received(), flushed());
    last_status_sent = Clock::now();
  }

  // The whole segment is stored like archive-push stores it; its chunks are then dropped.
  void complete_segment() {
    std::string name = segment_name();
    for (const auto& repo : r.repos_) {
      try {
        repo::push_wal_file(repo, name, seg_data);
      } catch (const Error& e) {
        std::string msg = e.what();
        if (msg.find(name) == std::string::npos)
          msg = "unable to store WAL segment " + name + " in " + repo.describe() + ": " + msg;
        throw Error(e.kind(), msg, e.hint());
      }
    }
    flushed_off = seg_data.size();
    flushed_at = std::chrono::system_clock::now();
    progress = true;
    Bytes done = std::move(seg_data);
    seg_data.clear();
    seg_data.reserve(seg_bytes);
    std::uint64_t finished = segno;
    ++segno;
    flushed_off = 0;
    // Status before removal: a restart between the two then resumes after this segment.
    write_status(true);
    remove_chunks_of(timeline, finished);
    report();
    summarize(name, finished, std::move(done));
  }

  // After the server has heard of the flush (a synchronous standby's commits wait for it): the
  // summary is derived data, rebuilt by a snapshot when missing, so a failure is a warning. The
  // previous segment comes from memory, else from the repository (after a restart).
  void summarize(const std::string& name, std::uint64_t finished, Bytes done) {
    std::optional<Bytes> fetched;
    std::optional<ByteView> previous;
    if (!previous_seg.empty() && previous_segno + 1 == finished) {
      previous = ByteView(previous_seg);
    } else if (finished > 0) {
      try {
        fetched = repo::fetch_wal_file(r.repos_.front(), pg::segment_file_name(timeline, finished - 1, seg_bytes));
        if (fetched && fetched->size() == seg_bytes) previous = ByteView(*fetched);
      } catch (const Error&) {
        // A damaged or unreadable previous segment costs only the head of this summary.
      }
    }
    std::vector<const repo::Repository*> targets;
    for (const auto& repo : r.repos_) targets.push_back(&repo);
    if (auto warning = repo::summarize_into(targets, name, done, previous, false))
      log_warning(*warning + " (the segment is stored; the summary is rebuilt from it when needed)");
    previous_seg = std::move(done);
    previous_segno = finished;
  }

  void remove_chunks_of(std::uint32_t tli, std::uint64_t seg) {
    journals.clear();
    for (const auto& repo : r.repos_)
      for (const auto& s : repo::list_streamed(repo.store(), seg_bytes))
        if (s.timeline == tli && s.segno == seg) repo::remove_streamed_segment(repo, s);
  }

  void append(const pg::StreamMessage& m) {
    if (m.data_start != received())
      throw Error(ErrorKind::postgres, "replication stream from " + conn.describe() + " sent WAL at " +
                                           pg::to_string(m.data_start) + ", expected " + pg::to_string(received()));
    std::size_t at = 0;
    while (at < m.data.size()) {
      std::size_t n = std::min<std::size_t>(m.data.size() - at, seg_bytes - seg_data.size());
      seg_data.insert(seg_data.end(), m.data.begin() + static_cast<std::ptrdiff_t>(at),
                      m.data.begin() + static_cast<std::ptrdiff_t>(at + n));
      at += n;
      if (seg_data.size() == seg_bytes) complete_segment();
    }
    if (m.server_wal_end > server_wal_end) server_wal_end = m.server_wal_end;
    server_seen_at = std::chrono::system_clock::now();
  }

  // Where the repositories say streaming stopped: the lowest position over all of them, so that
  // none misses anything. nullopt when none holds streamed WAL yet.
  void choose_start(const pg::SlotState& slot) {
    std::optional<std::pair<std::uint32_t, std::uint64_t>> start;  // (timeline, lsn)
    for (const auto& repo : r.repos_) {
      // A local repository whose directory is gone (an unmounted disk) lists as empty: that must
      // not read as "nothing streamed yet".
      if (!repo.store().stat(repo::kRepoConfigObject))
        throw Error(ErrorKind::io, "unable to reach " + repo.describe() + " (" + std::string(repo::kRepoConfigObject) +
                                       " is missing)");
      std::optional<std::pair<std::uint32_t, std::uint64_t>> here;
      auto streamed = repo::list_streamed(repo, seg_bytes);
      std::optional<repo::StreamStatus> status;
      try {
        status = repo::read_stream_status(repo);
      } catch (const Error& e) {
        // Resuming relies on the chunks; the status is rewritten at the next flush.
        if (e.kind() != ErrorKind::corrupt) throw;
        log_warning(std::string(e.what()) + "; ignored, it is rewritten at the next flush");
      }
      if (status && status->system_identifier != id.system_identifier) {
        r.fatal_ = true;
        throw Error(ErrorKind::config,
                    repo.describe() + " holds WAL streamed from system " + status->system_identifier + ", but " +
                        conn.describe() + " is system " + id.system_identifier,
                    "stream each cluster into its own repository");
      }
      if (status) {
        if (auto lsn = pg::parse_lsn(status->flushed_lsn)) here = {{status->timeline, lsn->value}};
      }
      if (!streamed.empty()) {
        const auto& newest = streamed.back();
        std::pair<std::uint32_t, std::uint64_t> p{newest.timeline, newest.segno * seg_bytes + newest.contiguous_bytes};
        if (!here || p > *here) here = p;
      }
      if (here && (!start || *here < *start)) start = here;
    }
    if (start) {
      timeline = start->first;
      segno = start->second / seg_bytes;
      std::uint64_t offset = start->second % seg_bytes;
      seg_data.clear();
      if (offset > 0) {
        // Resume mid-segment: the segment's first bytes come back from the repository.
        std::optional<Bytes> prefix;
        for (const auto& repo : r.repos_) {
          for (const auto& s : repo::list_streamed(repo, seg_bytes))
            if (s.timeline == timeline && s.segno == segno && s.contiguous_bytes >= offset)
              prefix = repo::read_streamed_segment(repo, s);
          if (prefix && prefix->size() >= offset) break;
          prefix.reset();
        }
        if (prefix) {
          prefix->resize(offset);
          seg_data = std::move(*prefix);
        } else if (repo::fetch_wal_file(r.repos_.front(), segment_name())) {
          ++segno;  // already complete (archive-push, or a crash before the status was rewritten)
        }
        // else: start the segment again from its beginning; the slot still holds it.
      }
      flushed_off = seg_data.size();
      remove_leftover_chunks();
      log_info("resuming WAL streaming at " + pg::to_string(received()) + " on timeline " + std::to_string(timeline));
      return;
    }
    pg::Lsn from = slot.restart_lsn ? *slot.restart_lsn : id.wal_flush;
    timeline = slot.restart_lsn && slot.restart_timeline ? slot.restart_timeline : id.timeline;
    // A segment is stored whole or not at all: begin at the start of the slot's segment, which the
    // server keeps (it removes WAL a whole segment at a time).
    segno = from.value / seg_bytes;
    seg_data.clear();
    flushed_off = 0;
    log_info("starting WAL streaming at " + pg::to_string(received()) + " on timeline " + std::to_string(timeline));
  }

  // Chunks of segments that a crash left behind after they were stored whole (or, on an ended
  // timeline, as .partial): the WAL objects hold the same bytes.
  void remove_leftover_chunks() {
    for (const auto& repo : r.repos_) {
      for (const auto& s : repo::list_streamed(repo.store(), seg_bytes)) {
        if (s.timeline == timeline && s.segno == segno) continue;
        if (repo.store().stat(repo::wal_object(s.name)) || repo.store().stat(repo::wal_object(s.name + ".partial")))
          repo::remove_streamed_segment(repo, s);
      }
    }
  }

  void store_history(std::uint32_t tli) {
    if (tli <= 1) return;
    auto [name, content] = conn.timeline_history(tli);
    if (repo::classify_wal_file(name) != repo::WalFileKind::history)
      throw Error(ErrorKind::postgres, "unexpected timeline history file name '" + name + "' from " + conn.describe());
    for (const auto& repo : r.repos_) repo::push_wal_file(repo, name, content);
  }

  // The server's timeline ended (it was promoted): keep what this timeline had of the segment as
  // a .partial file, as PostgreSQL's archiver does, and go on with the next timeline from the
  // start of the segment where it begins.
  void switch_timeline(const pg::NextTimeline& next) {
    if (next.timeline <= timeline)
      throw Error(ErrorKind::postgres, "server " + conn.describe() + " reported next timeline " +
                                           std::to_string(next.timeline) + " after timeline " +
                                           std::to_string(timeline));
    if (!seg_data.empty()) {
      Bytes padded = seg_data;
      padded.resize(seg_bytes, 0);
      for (const auto& repo : r.repos_) repo::push_wal_file(repo, zero_padded_partial_name(segment_name()), padded);
    }
    store_history(next.timeline);
    std::uint32_t old_tli = timeline;
    std::uint64_t old_seg = segno;
    timeline = next.timeline;
    segno = next.start.value / seg_bytes;
    seg_data.clear();
    flushed_off = 0;
    write_status(true);
    remove_chunks_of(old_tli, old_seg);
    log_info("timeline " + std::to_string(old_tli) + " ended at " + pg::to_string(next.start) +
             "; following timeline " + std::to_string(timeline) + " from " + pg::to_string(received()));
  }
};

WalReceiver::SessionEnd WalReceiver::session(bool& made_progress) {
  Session s(*this, opt_.conninfo);
  s.id = s.conn.identify_system();
  s.seg_bytes = s.conn.wal_segment_bytes();
  s.server_wal_end = s.id.wal_flush;
  s.server_seen_at = std::chrono::system_clock::now();

  pg::SlotState slot = s.conn.read_slot(opt_.slot);
  if (!slot.exists) {
    if (!opt_.create_slot) {
      fatal_ = true;
      throw Error(ErrorKind::not_found, "replication slot '" + opt_.slot + "' does not exist on " + s.conn.describe(),
                  "run wal-stream once with --create-slot, or name an existing physical slot with --slot");
    }
    s.conn.create_physical_slot(opt_.slot);
    log_info("created physical replication slot '" + opt_.slot + "'");
    slot = s.conn.read_slot(opt_.slot);
  } else if (slot.type != "physical") {
    fatal_ = true;
    throw Error(ErrorKind::config, "replication slot '" + opt_.slot + "' on " + s.conn.describe() + " is a " +
                                       slot.type + " slot, wal-stream needs a physical one");
  }
  s.choose_start(slot);

  while (true) {
    s.store_history(s.timeline);
    s.conn.start_replication(opt_.slot, s.received(), s.timeline);
    // Until it acknowledges something, the server does not know where this receiver stands.
    s.report();
    std::optional<pg::NextTimeline> next;
    while (true) {
      if (interrupt_requested()) {
        s.flush();
        s.report();
        s.write_status(false);
        made_progress = made_progress || s.progress;
        log_info("stopped; WAL up to " + pg::to_string(s.flushed()) + " on timeline " + std::to_string(s.timeline) +
                 " is in the repository");
        return SessionEnd::stopped;
      }
      bool unflushed = s.seg_data.size() > s.flushed_off;
      auto now = Clock::now();
      auto due = s.last_status_sent + opt_.status_interval;
      if (unflushed) due = std::min(due, opt_.synchronous ? now : s.last_flush + opt_.flush_interval);
      int wait_ms = static_cast<int>(
          std::clamp<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count(), 0, 1000));
      pg::StreamMessage m = s.conn.receive(wait_ms);
      if (m.kind == pg::StreamMessage::Kind::end_of_copy) {
        s.flush();
        s.write_status_if_due();
        next = s.conn.finish_copy();
        break;
      }
      bool flush_now = false;
      if (m.kind == pg::StreamMessage::Kind::wal_data) {
        s.append(m);
      } else if (m.kind == pg::StreamMessage::Kind::keepalive) {
        if (m.server_wal_end > s.server_wal_end) s.server_wal_end = m.server_wal_end;
        s.server_seen_at = std::chrono::system_clock::now();
        flush_now = m.reply_requested;
      } else {
        // Nothing more is waiting: in synchronous mode, the moment to make the batch durable.
        flush_now = opt_.synchronous;
      }
      // Without --synchronous, also when WAL keeps arriving without a pause.
      now = Clock::now();
      unflushed = s.seg_data.size() > s.flushed_off;
      if (unflushed && now - s.last_flush >= opt_.flush_interval) flush_now = true;
      if (flush_now) {
        s.flush();
        s.report();
        s.write_status_if_due();
      } else if (now - s.last_status_sent >= opt_.status_interval) {
        s.report();
      }
    }
    made_progress = made_progress || s.progress;
    if (!next)
      throw Error(ErrorKind::network, "server " + s.conn.describe() + " stopped streaming at " +
                                          pg::to_string(s.received()) + " on timeline " + std::to_string(s.timeline));
    s.switch_timeline(*next);
  }
}

void WalReceiver::run() {
  auto delay = std::chrono::milliseconds(1000);
  while (true) {
    bool progress = false;
    try {
      if (session(progress) == SessionEnd::stopped) return;
    } catch (const Error& e) {
      // SIGINT/SIGTERM met inside a step that checks for it (removing a stored segment's journal
      // or chunks): the asked-for stop. What the server was told is flushed is in every
      // repository; what is left behind is removed when the receiver resumes.
      if (e.kind() == ErrorKind::interrupted && !fatal_) {
        log_info("stopped (" + std::string(e.what()) + ")");
        return;
      }
      if (fatal_) throw;
      // A role without REPLICATION, or pg_hba.conf refusing replication: retrying cannot help.
      if (e.kind() == ErrorKind::postgres && !e.hint().empty()) throw;
      if (progress) delay = std::chrono::milliseconds(1000);
      log_warning(std::string(e.what()) + "; retrying in " + std::to_string(delay.count() / 1000.0).substr(0, 4) +
                  " s");
    }
    if (progress) delay = std::chrono::milliseconds(1000);
    for (auto waited = std::chrono::milliseconds(0); waited < delay; waited += std::chrono::milliseconds(100)) {
      if (interrupt_requested()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    delay = std::min(delay * 2, opt_.retry_max);
  }
}

std::optional<StreamPosition> last_received(const repo::Repository& repo, std::uint64_t segment_bytes) {
  auto status = repo::read_stream_status(repo);
  auto streamed = repo::list_streamed(repo, segment_bytes);
  if (!status && streamed.empty()) return std::nullopt;
  StreamPosition p;
  if (status) {
    p.timeline = status->timeline;
    if (auto l = pg::parse_lsn(status->flushed_lsn)) p.flushed = *l;
    p.flushed_at = parse_iso8601(status->flushed_at);
    p.server_wal_end = pg::parse_lsn(status->server_wal_end);
    p.server_seen_at = parse_iso8601(status->server_seen_at);
    p.running = status->running;
    p.synchronous = status->synchronous;
  }
  if (!streamed.empty()) {
    const auto& newest = streamed.back();
    pg::Lsn end{newest.segno * segment_bytes + newest.contiguous_bytes};
    if (newest.timeline > p.timeline || (newest.timeline == p.timeline && end > p.flushed)) {
      // Chunks written since the last status update: newer than the status says. Their time is
      // not recorded; flushed_at stays that of the status object (an upper bound on the lag).
      p.timeline = newest.timeline;
      p.flushed = end;
    }
    if (newest.timeline == p.timeline) {
      p.partial_segment = newest.name;
      p.partial_bytes = newest.contiguous_bytes;
    }
  }
  return p;
}

}  // namespace pgdr::stream
