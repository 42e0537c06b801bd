// What `pgdr wal-stream` keeps in a repository besides complete WAL segments (which go to wal/
// through push_wal_file, like archive-push's):
//
//   stream/<timeline, 8 hex>/<segment name>.<start, 8 hex>-<end, 8 hex>
//       one sealed object per flush: bytes [start, end) of the segment being received (object
//       stores)
//   stream/<timeline, 8 hex>/<segment name>.<start, 8 hex>.journal
//       on local storage, one file per segment (and receiver session) that each flush appends a
//       sealed record to, from start on (repo/wal_stream_journal.h)
//   stream/status
//       sealed JSON: where the receiver stands (timeline, flushed LSN and when), rewritten at most
//       about once a second and at every segment end, timeline switch and stop
//
// A flush writes only what arrived since the previous one, so the cost of making received WAL
// durable does not grow with the segment. Once the whole segment is stored in wal/ its chunks are
// removed. Readers assemble the longest run of chunks from offset 0 (chunks may overlap after a
// restart; overlapping bytes are the same WAL). All functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "repo/repository.h"

namespace pgdr::repo {

inline constexpr std::string_view kStreamDir = "stream";
inline constexpr std::string_view kStreamStatusObject = "stream/status";

struct StreamChunk {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // of a journal: known once read (list_streamed with a repository)
  std::string object;
  bool journal = false;
};

struct StreamedSegment {
  std::string name;  // segment file name
  std::uint32_t timeline = 0;
  std::uint64_t segno = 0;
  std::vector<StreamChunk> chunks;     // sorted by start
  std::uint64_t contiguous_bytes = 0;  // bytes from offset 0 without a hole, by the names alone
};

// Stores bytes [start, start + data.size()) of segment_name durably.
void write_stream_chunk(const Repository& repo, const std::string& segment_name, std::uint64_t start, ByteView data);

// Every segment with streamed chunks, sorted by (timeline, segno). Chunk objects are known by their
// names; journals are read for where they end (Error(corrupt) for a damaged one).
std::vector<StreamedSegment> list_streamed(const Repository& repo, std::uint64_t segment_bytes);
// The same from the names alone, without a key: a journal's end is left at its start, so
// contiguous_bytes counts chunk objects only. Enough to tell which segments have streamed parts
// and to remove them.
std::vector<StreamedSegment> list_streamed(const storage::Storage& store, std::uint64_t segment_bytes);

// The streamed bytes of segment_name from offset 0 up to the first hole, verified; nullopt when
// it has no chunk. Throws Error(corrupt) naming a damaged chunk.
std::optional<Bytes> read_streamed_segment(const Repository& repo, const StreamedSegment& segment);

void remove_streamed_segment(const Repository& repo, const StreamedSegment& segment);

// The newest segment of its timeline as streamed so far, zero-padded to segment_bytes as PostgreSQL
// pads a partial segment, for archive-get. nullopt unless segment_name has streamed chunks and is
// the newest segment of its timeline in the repository (no later complete or streamed segment),
// so a partial never fills a hole in the middle of a timeline.
std::optional<Bytes> fetch_newest_streamed_segment(const Repository& repo, const std::string& segment_name,
                                                   std::uint64_t segment_bytes);

struct StreamStatus {
  std::string system_identifier;
  std::uint32_t timeline = 0;
  std::string flushed_lsn;     // durable in the repository up to here
  std::string flushed_at;      // ISO-8601 UTC (ms) of the newest flush
  std::string server_wal_end;  // the server's WAL end as last reported by it
  std::string server_seen_at;  // when that was reported
  std::string slot;
  std::string application_name;
  bool synchronous = false;
  bool running = true;  // false once the receiver stopped cleanly
};

void write_stream_status(const Repository& repo, const StreamStatus& status);
// nullopt when no receiver ever wrote one. Throws Error(corrupt) when it is damaged.
std::optional<StreamStatus> read_stream_status(const Repository& repo);

}  // namespace pgdr::repo
