#include "repo/wal_stream_objects.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_integer.h"
#include "pg/lsn.h"
#include "repo/sealed_stream.h"
#include "repo/wal_archive.h"
#include "repo/wal_stream_journal.h"

namespace pgdr::repo {

namespace {

std::string hex8(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08llX", static_cast<unsigned long long>(v));
  return buf;
}

std::optional<std::uint64_t> parse_hex8(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<std::uint64_t>(d);
  }
  return v;
}

// stream/<timeline>/<segment>.<start>-<end>: flat under the timeline, so that removing a
// completed segment's chunks leaves no directory behind.
std::string chunk_prefix(const std::string& segment_name) {
  return std::string(kStreamDir) + "/" + segment_name.substr(0, 8) + "/" + segment_name + ".";
}

}  // namespace

void write_stream_chunk(const Repository& repo, const std::string& segment_name, std::uint64_t start, ByteView data) {
  std::string object = chunk_prefix(segment_name) + hex8(start) + "-" + hex8(start + data.size());
  write_sealed_object(repo.store(), object, repo.key(), data);
}

namespace {

void order_and_measure(StreamedSegment& s) {
  std::sort(s.chunks.begin(), s.chunks.end(), [](const StreamChunk& a, const StreamChunk& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });
  s.contiguous_bytes = 0;
  for (const auto& c : s.chunks) {
    if (c.start > s.contiguous_bytes) break;
    s.contiguous_bytes = std::max(s.contiguous_bytes, c.end);
  }
}

}  // namespace

std::vector<StreamedSegment> list_streamed(const Repository& repo, std::uint64_t segment_bytes) {
  auto out = list_streamed(repo.store(), segment_bytes);
  for (auto& s : out) {
    bool any = false;
    for (auto& c : s.chunks)
      if (c.journal) {
        c.end = c.start + read_journal(repo, c.object, s.name, c.start).size();
        any = true;
      }
    if (any) order_and_measure(s);
  }
  return out;
}

std::vector<StreamedSegment> list_streamed(const storage::Storage& store, std::uint64_t segment_bytes) {
  std::map<std::string, StreamedSegment> by_name;
  for (const auto& obj : store.list(kStreamDir)) {
    // stream/<tli>/<segment>.<start>-<end>
    std::string_view p = obj.path;
    std::string_view leaf = p.substr(p.rfind('/') + 1);
    // <segment>.<start>-<end> (a chunk) or <segment>.<start>.journal
    const bool journal = leaf.size() == 33 + kJournalSuffix.size() && leaf.substr(33) == kJournalSuffix;
    if (!journal && (leaf.size() != 42 || leaf[33] != '-')) continue;
    if (leaf[24] != '.') continue;
    std::string seg_name(leaf.substr(0, 24));
    auto seg = pg::parse_segment_file_name(seg_name, segment_bytes);
    if (!seg || p != chunk_prefix(seg_name) + std::string(leaf.substr(25))) continue;
    auto start = parse_hex8(leaf.substr(25, 8));
    auto end = journal ? start : parse_hex8(leaf.substr(34));
    if (!start || !end || *start >= segment_bytes || (!journal && (*end <= *start || *end > segment_bytes))) continue;
    auto& s = by_name[seg_name];
    s.name = seg_name;
    s.timeline = seg->timeline;
    s.segno = seg->segno;
    s.chunks.push_back({*start, *end, obj.path, journal});
  }
  std::vector<StreamedSegment> out;
  for (auto& [name, s] : by_name) {
    order_and_measure(s);
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const StreamedSegment& a, const StreamedSegment& b) {
    return a.timeline != b.timeline ? a.timeline < b.timeline : a.segno < b.segno;
  });
  return out;
}

std::optional<Bytes> read_streamed_segment(const Repository& repo, const StreamedSegment& segment) {
  if (segment.chunks.empty()) return std::nullopt;
  Bytes out;
  for (const auto& c : segment.chunks) {
    if (c.start > out.size()) break;  // a hole: what follows cannot be used
    if (c.journal) {
      // Its end as listed may be older than what it holds now: read it whole either way.
      Bytes data = read_journal(repo, c.object, segment.name, c.start);
      if (c.start + data.size() > out.size())
        out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(out.size() - c.start), data.end());
      continue;
    }
    if (c.end <= out.size()) continue;
    auto data = read_sealed_object(repo.store(), c.object, repo.key());
    if (!data) continue;  // removed meanwhile (the segment was completed)
    if (data->size() != c.end - c.start)
      throw Error(ErrorKind::corrupt, "corrupt streamed WAL chunk " + c.object + " in " + repo.describe() + " (holds " +
                                          std::to_string(data->size()) + " bytes, its name says " +
                                          std::to_string(c.end - c.start) + ")");
    out.insert(out.end(), data->begin() + static_cast<std::ptrdiff_t>(out.size() - c.start), data->end());
  }
  return out;
}

void remove_streamed_segment(const Repository& repo, const StreamedSegment& segment) {
  // In any order, in as few requests as the store allows: the segment is a WAL object already, and
  // readers take that first.
  std::vector<std::string> objects;
  for (const auto& c : segment.chunks) objects.push_back(c.object);
  if (!objects.empty()) repo.store().remove_many(objects);
}

std::optional<Bytes> fetch_newest_streamed_segment(const Repository& repo, const std::string& segment_name,
                                                   std::uint64_t segment_bytes) {
  auto wanted = pg::parse_segment_file_name(segment_name, segment_bytes);
  if (!wanted) return std::nullopt;
  auto streamed = list_streamed(repo, segment_bytes);
  const StreamedSegment* found = nullptr;
  for (const auto& s : streamed) {
    if (s.timeline != wanted->timeline) continue;
    if (s.segno > wanted->segno) return std::nullopt;  // a later one was streamed: not the newest
    if (s.segno == wanted->segno) found = &s;
  }
  if (!found) return std::nullopt;
  auto wal = list_wal(repo, segment_bytes);
  if (auto it = wal.segments.find(wanted->timeline);
      it != wal.segments.end() && !it->second.empty() && it->second.back() > wanted->segno)
    return std::nullopt;
  auto content = read_streamed_segment(repo, *found);
  if (!content || content->empty()) return std::nullopt;
  content->resize(segment_bytes, 0);
  return content;
}

void write_stream_status(const Repository& repo, const StreamStatus& s) {
  nlohmann::json j = {{"format", "pgdr-stream-status"},
                      {"version", 1},
                      {"system_identifier", s.system_identifier},
                      {"timeline", s.timeline},
                      {"flushed_lsn", s.flushed_lsn},
                      {"flushed_at", s.flushed_at},
                      {"server_wal_end", s.server_wal_end},
                      {"server_seen_at", s.server_seen_at},
                      {"slot", s.slot},
                      {"application_name", s.application_name},
                      {"synchronous", s.synchronous},
                      {"running", s.running}};
  std::string text = j.dump();
  write_sealed_object(repo.store(), std::string(kStreamStatusObject), repo.key(), to_bytes(text));
}

std::optional<StreamStatus> read_stream_status(const Repository& repo) {
  auto raw = read_sealed_object(repo.store(), std::string(kStreamStatusObject), repo.key());
  if (!raw) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(raw->begin(), raw->end());
    if (j.at("format") != "pgdr-stream-status")
      throw Error(ErrorKind::corrupt, "corrupt object stream/status in " + repo.describe() + " (wrong format)");
    if (j.at("version") != 1)
      throw Error(ErrorKind::corrupt, "object stream/status in " + repo.describe() + " has format version " +
                                          j.at("version").dump() + ", this pgdr reads version 1");
    StreamStatus s;
    s.system_identifier = j.at("system_identifier");
    s.timeline = integer_at<std::uint32_t>(j, "timeline");
    s.flushed_lsn = j.at("flushed_lsn");
    s.flushed_at = j.at("flushed_at");
    s.server_wal_end = j.at("server_wal_end");
    s.server_seen_at = j.at("server_seen_at");
    s.slot = j.at("slot");
    s.application_name = j.at("application_name");
    s.synchronous = j.at("synchronous");
    s.running = j.at("running");
    return s;
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorKind::corrupt, "corrupt object stream/status in " + repo.describe() + " (unreadable JSON)");
  }
}

}  // namespace pgdr::repo
