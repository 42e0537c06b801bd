// The block-reference summary of one WAL segment: the change map (pg/change_map.h) of every record
// that ends in the segment, with what a reader needs to prove that consecutive summaries leave no
// record out. archive-push and wal-stream store one beside each segment they archive; a snapshot
// merges them from the previous snapshot's start to its own.
//
// Which records: those whose last byte lies in the segment. A record that starts in the previous
// segment and ends in this one belongs here, and can be decoded only with the previous segment in
// hand; without it the summary is built from the first record that starts in the segment and says
// so (head_complete = false). A record that runs on into the next segment belongs to the next.
//
// Chaining: every record names the one before it (xl_prev). Summaries of segments N-1 and N leave
// nothing out exactly when N's first_prev equals N-1's last_record; so a merge over many segments
// checks each link and treats a broken one as a gap, never as "nothing changed".
//
// head_complete is also true when no record crosses in (the first page continues none, or the
// record it continues ends in a later segment). A segment in which no record ends (one record
// covers it whole) has no first_record; with the previous segment at hand its first_prev,
// last_record and end are then those of the last record that ended before it, so the chain passes
// through it; without, they are 0 and the link to it is broken.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "pg/change_map.h"
#include "pg/lsn.h"

namespace pgdr::pg {

struct SegmentSummary {
  std::string segment;               // the segment's file name
  std::uint32_t timeline = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t system_identifier = 0;
  int major = 0;                     // from the WAL page magic
  bool head_complete = false;        // the record crossing in from the previous segment is included
  std::optional<Lsn> first_record;   // the first record summarised; nullopt when none ends here
  Lsn first_prev;                    // its xl_prev
  Lsn last_record;                   // the last record summarised
  Lsn end;                           // where the record after the last one starts
  bool wal_ended = false;            // the WAL ends in this segment (a partial or last segment)
  std::uint64_t records = 0;
  ChangeMap map;
};

// Summarises segment (its whole bytes, named as PostgreSQL names it); previous is the previous
// segment of the same timeline when at hand (or the parent's, for a timeline's first segment),
// which makes the head complete: the whole segment, or its last bytes (whole pages) in which
// previous_decode_start() finds a start. Throws Error(corrupt) naming the segment when its WAL
// does not decode (see pg/wal_reader.h).
SegmentSummary summarize_segment(std::string_view segment_name, ByteView segment,
                                 std::optional<ByteView> previous, std::uint64_t segment_bytes);

// Where summarize_segment starts decoding previous (the whole previous segment or its last bytes,
// whole pages), as an offset into it: the second last page on which a record starts. From there
// the reader meets the last record that ends in the segment and the one that crosses out of it;
// what comes before matters to neither, so a caller reads and decodes only the segment's tail.
// nullopt when previous holds fewer than two such pages (then the whole segment is decoded).
std::optional<std::size_t> previous_decode_start(ByteView previous);

// The byte form stored beside the segment: versioned, CRC-32C over everything before the CRC.
// decode throws Error(corrupt) "<what>: <why>".
Bytes encode_segment_summary(const SegmentSummary& summary);
SegmentSummary decode_segment_summary(ByteView bytes, const std::string& what);

}  // namespace pgdr::pg
