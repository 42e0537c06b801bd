#include "pg/segment_summary.h"

#include <algorithm>
#include <iterator>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"
#include "pg/version.h"
#include "pg/wal_reader.h"

// Byte form, version 1 (integers little-endian):
//
//   summary = "PGDRWSUM" | version u32 | name_length u8 (24) | segment name |
//             timeline u32 | segment_bytes u64 | system_identifier u64 | major u8 |
//             flags u8 (1 head_complete, 2 has first_record, 4 wal_ended) |
//             first_record u64 (0 without) | first_prev u64 | last_record u64 | end u64 |
//             records u64 | map_length u32 | change map (pg/change_map.h's byte form) |
//             crc32c u32 (over every byte before it)

namespace pgdr::pg {

namespace {

constexpr char kMagic[8] = {'P', 'G', 'D', 'R', 'W', 'S', 'U', 'M'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint8_t kHeadComplete = 1;
constexpr std::uint8_t kHasFirstRecord = 2;
constexpr std::uint8_t kWalEnded = 4;
constexpr std::uint8_t kAllFlags = kHeadComplete | kHasFirstRecord | kWalEnded;
constexpr std::uint16_t kPageFirstIsContrecord = 0x0001;  // XLP_FIRST_IS_CONTRECORD

// Whether a record that began before the segment ends in it: its first page says it continues a
// record (XLP_FIRST_IS_CONTRECORD) with fewer bytes to come than the segment's pages hold.
bool record_crosses_into(ByteView segment, std::uint64_t segment_bytes) {
  const auto h = decode_wal_page_header(segment);
  if (!h || !(h->info & kPageFirstIsContrecord)) return false;
  const std::uint64_t pages = segment_bytes / kWalPageBytes;
  const std::uint64_t room =
      (kWalPageBytes - kWalLongPageHeaderBytes) + (pages - 1) * (kWalPageBytes - kWalShortPageHeaderBytes);
  return h->rem_len <= room;
}

}  // namespace

std::optional<std::size_t> previous_decode_start(ByteView previous) {
  if (previous.size() % kWalPageBytes != 0) return std::nullopt;
  int starts = 0;
  for (std::size_t offset = previous.size(); offset >= kWalPageBytes;) {
    offset -= kWalPageBytes;
    const auto h = decode_wal_page_header(previous.subspan(offset, kWalPageBytes));
    // No magic: a page not written, or the padding after a WAL switch (PostgreSQL zeroes those
    // pages' headers too, xlog.c CopyXLogRecordToWAL).
    if (!h || h->magic == 0) continue;
    const std::uint64_t room = kWalPageBytes - h->size();
    const std::uint64_t continued = (std::uint64_t{h->rem_len} + 7) & ~std::uint64_t{7};  // MAXALIGN
    if (!(h->info & kPageFirstIsContrecord) || continued < room) {
      if (++starts == 2) return offset;
    }
  }
  return std::nullopt;
}

SegmentSummary summarize_segment(std::string_view segment_name, ByteView segment, std::optional<ByteView> previous,
                                 std::uint64_t segment_bytes) {
  const auto name = parse_segment_file_name(segment_name, segment_bytes);
  if (!name)
    throw Error(ErrorKind::corrupt, "invalid WAL segment name '" + std::string(segment_name) + "' for " +
                                        std::to_string(segment_bytes) + "-byte segments");
  const std::uint64_t start = name->segno * segment_bytes;
  SegmentSummary s;
  s.segment = std::string(segment_name);
  s.timeline = name->timeline;
  s.segment_bytes = segment_bytes;

  WalReader reader(segment_bytes);
  // The last record that ends in the previous segment: where the chain stands when this segment
  // starts.
  std::optional<Lsn> before_lsn, before_end;
  if (previous && name->segno > 0) {
    // Fed under this segment's timeline: the parent's pages carry an older one, which the reader
    // accepts, as recovery does.
    std::size_t from = 0;
    if (auto at = previous_decode_start(*previous)) {
      from = *at;
    } else if (previous->size() != segment_bytes) {
      throw Error(ErrorKind::internal, "the tail of the segment before " + std::string(segment_name) + " (" +
                                           std::to_string(previous->size()) + " bytes) holds no place to start reading");
    }
    reader.feed_tail(name->timeline, Lsn{start - segment_bytes}, previous->subspan(from));
    while (const WalRecord* rec = reader.next()) {
      before_lsn = rec->lsn;
      before_end = rec->end_lsn;
    }
  }
  reader.feed(name->timeline, Lsn{start}, segment);
  while (const WalRecord* rec = reader.next()) {
    if (!s.first_record) {
      s.first_record = rec->lsn;
      s.first_prev = rec->prev;
    }
    s.last_record = rec->lsn;
    s.end = rec->end_lsn;
    ++s.records;
    note_wal_record(*rec, *reader.major(), s.map);
  }
  s.wal_ended = reader.ended();
  s.major = reader.major().value_or(0);
  s.system_identifier = reader.system_identifier().value_or(0);

  const bool crossed_in = record_crosses_into(segment, segment_bytes);
  s.head_complete = !crossed_in || (s.first_record && s.first_record->value < start);
  if (!s.first_record && s.head_complete && before_lsn) {
    // One record covers the segment: the chain passes through it unchanged.
    s.first_prev = s.last_record = *before_lsn;
    s.end = *before_end;
  }
  return s;
}

Bytes encode_segment_summary(const SegmentSummary& s) {
  Bytes out(std::begin(kMagic), std::end(kMagic));
  put_u32le(out, kVersion);
  out.push_back(static_cast<std::uint8_t>(s.segment.size()));
  out.insert(out.end(), s.segment.begin(), s.segment.end());
  put_u32le(out, s.timeline);
  put_u64le(out, s.segment_bytes);
  put_u64le(out, s.system_identifier);
  out.push_back(static_cast<std::uint8_t>(s.major));
  out.push_back(static_cast<std::uint8_t>((s.head_complete ? kHeadComplete : 0) |
                                          (s.first_record ? kHasFirstRecord : 0) | (s.wal_ended ? kWalEnded : 0)));
  put_u64le(out, s.first_record ? s.first_record->value : 0);
  put_u64le(out, s.first_prev.value);
  put_u64le(out, s.last_record.value);
  put_u64le(out, s.end.value);
  put_u64le(out, s.records);
  const Bytes map = s.map.encode();
  put_u32le(out, static_cast<std::uint32_t>(map.size()));
  out.insert(out.end(), map.begin(), map.end());
  put_u32le(out, crc32c(out));
  return out;
}

SegmentSummary decode_segment_summary(ByteView bytes, const std::string& what) {
  auto fail = [&](const std::string& why) { throw Error(ErrorKind::corrupt, what + ": " + why); };
  // magic, version, name length and name, the fixed fields, map length, CRC.
  constexpr std::size_t kNameBytes = 24;
  constexpr std::size_t kFixedBytes = 4 + 8 + 8 + 1 + 1 + 5 * 8 + 4;
  constexpr std::size_t kMinBytes = sizeof kMagic + 4 + 1 + kNameBytes + kFixedBytes + 4;
  if (bytes.size() < kMinBytes)
    fail(std::to_string(bytes.size()) + " bytes, shorter than the smallest segment summary (" +
         std::to_string(kMinBytes) + ")");
  if (!std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin())) fail("not a segment summary (wrong magic)");
  const std::uint32_t version = get_u32le(bytes.data() + sizeof kMagic);
  if (version != kVersion)
    fail("segment summary version " + std::to_string(version) + ", where this pgdr reads version " +
         std::to_string(kVersion));
  const ByteView body = bytes.first(bytes.size() - 4);
  if (get_u32le(bytes.data() + body.size()) != crc32c(body)) fail("checksum mismatch (damaged or truncated)");

  const std::uint8_t* p = body.data() + sizeof kMagic + 4;
  if (*p != kNameBytes) fail("segment name of " + std::to_string(*p) + " bytes where a segment's has 24");
  ++p;
  SegmentSummary s;
  s.segment.assign(reinterpret_cast<const char*>(p), kNameBytes);
  p += kNameBytes;
  s.timeline = get_u32le(p);
  s.segment_bytes = get_u64le(p + 4);
  s.system_identifier = get_u64le(p + 12);
  s.major = p[20];
  const std::uint8_t flags = p[21];
  const std::uint64_t first = get_u64le(p + 22);
  s.first_prev = Lsn{get_u64le(p + 30)};
  s.last_record = Lsn{get_u64le(p + 38)};
  s.end = Lsn{get_u64le(p + 46)};
  s.records = get_u64le(p + 54);
  const std::uint32_t map_length = get_u32le(p + 62);
  p += kFixedBytes;

  if (!is_valid_wal_segment_size(s.segment_bytes))
    fail("segment size " + std::to_string(s.segment_bytes) + " is not a power of two from 1 MiB to 1 GiB");
  const auto name = parse_segment_file_name(s.segment, s.segment_bytes);
  if (!name) fail("'" + s.segment + "' is not a WAL segment name");
  if (name->timeline != s.timeline)
    fail("timeline " + std::to_string(s.timeline) + " for segment " + s.segment);
  if (!is_supported_major(s.major)) fail("major " + std::to_string(s.major) + " is not one of " + supported_range_text());
  if (flags & ~kAllFlags) fail("unknown flags " + std::to_string(flags));
  s.head_complete = flags & kHeadComplete;
  s.wal_ended = flags & kWalEnded;
  const std::uint64_t start = name->segno * s.segment_bytes;
  if (flags & kHasFirstRecord) {
    s.first_record = Lsn{first};
    if (s.records == 0) fail("a first record but no records");
    // Every record summarised ends in the segment, and each starts after the one it names.
    if (!(s.first_prev.value < first && first <= s.last_record.value && s.last_record.value < s.end.value &&
          s.end.value > start && s.end.value <= start + s.segment_bytes))
      fail("record positions out of order or outside segment " + s.segment);
  } else if (first != 0 || s.records != 0) {
    fail("records without a first record");
  }
  const std::size_t map_at = static_cast<std::size_t>(p - body.data());
  if (map_length != body.size() - map_at)
    fail("change map of " + std::to_string(map_length) + " bytes where " + std::to_string(body.size() - map_at) +
         " remain");
  s.map = ChangeMap::decode(body.subspan(map_at), what);
  return s;
}

}  // namespace pgdr::pg
