#include "pg/server_summaries.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "pg/version.h"

namespace pgdr::pg {

namespace {

using Clock = std::chrono::steady_clock;

std::string at_text(std::uint32_t timeline, Lsn lsn) {
  return to_string(lsn) + " on timeline " + std::to_string(timeline);
}

std::uint32_t timeline_value(const std::optional<std::string>& text) {
  if (!text) return 0;
  std::uint32_t tli = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), tli);
  if (ec != std::errc() || end != text->data() + text->size())
    throw Error(ErrorKind::postgres, "the server answered '" + *text + "' where a timeline belongs");
  return tli;
}

Lsn lsn_value(const std::optional<std::string>& text) {
  if (!text) return Lsn{0};
  auto lsn = parse_lsn(*text);
  if (!lsn) throw Error(ErrorKind::postgres, "the server answered '" + *text + "' where an LSN belongs");
  return *lsn;
}

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

class SummaryReading {
 public:
  SummaryReading(Connection& conn, const ServerSummariesRequest& request) : conn_(conn), request_(request) {}

  ServerSummaries run() {
    gather();
    return std::move(result_);
  }

 private:
  void gather() {
    if (request_.path.empty()) {
      result_.map.emplace();
      return;
    }
    if (const int major = major_of(conn_.server_version_num()); !has_wal_summaries(major))
      return none("PostgreSQL " + std::to_string(major) + " writes no WAL summaries");
    if (!wait_for_summarizer()) return;
    std::optional<std::vector<WalSummaryName>> available = list();
    if (!available) return;
    SummaryChoice choice = choose_wal_summaries(*available, request_.path);
    if (!choice.gap.empty()) return none(choice.gap);
    ChangeMap map;
    for (const WalSummaryName& name : choice.files) {
      throw_if_interrupted();
      const std::string file = wal_summary_file_name(name);
      std::optional<Bytes> content = read(file);
      if (!content) return;
      result_.files.push_back(file);
      result_.bytes_read += content->size();
      try {
        map.merge(read_wal_summary(*content, where(file)));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::corrupt) throw;
        return none(e.what());
      }
    }
    result_.map = std::move(map);
  }

  void none(std::string reason) {
    result_.map.reset();
    result_.reason = std::move(reason);
  }

  bool local() const { return !request_.data_directory.empty(); }
  std::string directory() const { return request_.data_directory + "/" + std::string(kWalSummaryDirectory); }
  std::string where(const std::string& file) const {
    return local() ? directory() + "/" + file : std::string(kWalSummaryDirectory) + "/" + file + " on the server";
  }

  // Polls the summarizer's progress until it has written summaries past the path's end on its
  // timeline, as WaitForWalSummarization does in the server (which SQL cannot call). A summarizer
  // on a later timeline has finished the path's. False (with the reason set) when summarize_wal
  // is off or the timeout passes first.
  bool wait_for_summarizer() {
    const TimelineRange& last = request_.path.back();
    const Clock::time_point deadline = Clock::now() + request_.timeout;
    auto pause = std::chrono::milliseconds(50);
    for (;;) {
      throw_if_interrupted();
      QueryResult r = conn_.query(
          "SELECT current_setting('summarize_wal'), summarized_tli, summarized_lsn "
          "FROM pg_get_wal_summarizer_state()");
      if (r.rows.size() != 1 || r.rows[0].size() != 3)
        throw Error(ErrorKind::postgres, "pg_get_wal_summarizer_state() answered no single row");
      if (r.rows[0][0].value_or("") != "on") {
        none("summarize_wal is off on the server");
        return false;
      }
      const std::uint32_t tli = timeline_value(r.rows[0][1]);
      const Lsn lsn = lsn_value(r.rows[0][2]);
      if (tli > last.timeline || (tli == last.timeline && lsn >= last.end)) return true;
      const Clock::time_point now = Clock::now();
      if (now >= deadline) {
        none("WAL summarization reached " + (tli == 0 ? std::string("nothing yet") : at_text(tli, lsn)) +
             ", not " + at_text(last.timeline, last.end) + ", within " + seconds_text(request_.timeout));
        return false;
      }
      std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
      // The summarizer writes a file per checkpoint: no need to ask more than a few times a second.
      pause = std::min(pause * 2, std::chrono::milliseconds(500));
    }
  }

  std::optional<std::vector<WalSummaryName>> list() {
    std::vector<WalSummaryName> out;
    if (local()) {
      std::optional<std::vector<std::string>> names = list_directory(directory());
      if (!names) {
        none("unable to list the WAL summaries in " + directory());
        return std::nullopt;
      }
      for (const std::string& n : *names)
        if (auto parsed = parse_wal_summary_file_name(n)) out.push_back(*parsed);
      return out;
    }
    QueryResult r = conn_.query("SELECT tli, start_lsn, end_lsn FROM pg_available_wal_summaries()");
    for (const auto& row : r.rows) {
      if (row.size() != 3) throw Error(ErrorKind::postgres, "pg_available_wal_summaries() answered a row of " +
                                                                std::to_string(row.size()) + " columns");
      out.push_back({timeline_value(row[0]), lsn_value(row[1]), lsn_value(row[2])});
    }
    return out;
  }

  std::optional<Bytes> read(const std::string& file) {
    if (local()) {
      std::optional<Bytes> content;
      try {
        content = read_file(directory() + "/" + file);
      } catch (const Error& e) {
        none(e.what());
        return std::nullopt;
      }
      if (!content) none("WAL summary " + where(file) + " is missing (removed since it was listed?)");
      return content;
    }
    QueryResult r;
    try {
      // missing_ok: a summary removed since the listing is an answer, not an error.
      r = conn_.query("SELECT pg_read_binary_file($1, true)", {std::string(kWalSummaryDirectory) + "/" + file});
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::postgres) throw;
      none("unable to read WAL summary " + where(file) + " (" + e.what() + ")");
      return std::nullopt;
    }
    if (r.rows.size() != 1 || r.rows[0].size() != 1)
      throw Error(ErrorKind::postgres, "pg_read_binary_file() answered no single value");
    const std::optional<std::string>& value = r.rows[0][0];
    if (!value) {
      none("WAL summary " + where(file) + " is missing (removed since it was listed?)");
      return std::nullopt;
    }
    // bytea in its hex output form (bytea_output = hex, the default since 9.0): "\x" then the digits.
    if (!value->starts_with("\\x")) {
      none("WAL summary " + where(file) + " came back in an unknown bytea form (bytea_output = escape?)");
      return std::nullopt;
    }
    try {
      return from_hex(std::string_view(*value).substr(2));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
      none("WAL summary " + where(file) + " came back as malformed hex (" + e.what() + ")");
      return std::nullopt;
    }
  }

  Connection& conn_;
  const ServerSummariesRequest& request_;
  ServerSummaries result_;
};

}  // namespace

SummaryChoice choose_wal_summaries(const std::vector<WalSummaryName>& available, const std::vector<TimelineRange>& path) {
  SummaryChoice choice;
  for (const TimelineRange& range : path) {
    // Greedy interval cover: from the first LSN not yet covered, take the summary that starts at
    // or before it and reaches furthest. Summaries of other timelines say nothing about this one.
    Lsn covered = range.begin;
    while (covered < range.end) {
      const WalSummaryName* best = nullptr;
      for (const WalSummaryName& s : available) {
        if (s.timeline != range.timeline || s.start > covered || s.end <= covered) continue;
        if (best == nullptr || s.end > best->end) best = &s;
      }
      if (best == nullptr) {
        choice.files.clear();
        choice.gap = "no WAL summary on timeline " + std::to_string(range.timeline) + " covers " +
                     to_string(covered) + " (summaries are needed from " + to_string(range.begin) + " to " +
                     to_string(range.end) + ")";
        return choice;
      }
      choice.files.push_back(*best);
      covered = best->end;
    }
  }
  return choice;
}

ServerSummaries read_server_summaries(Connection& conn, const ServerSummariesRequest& request) {
  return SummaryReading(conn, request).run();
}

}  // namespace pgdr::pg
