// The WAL reader (pg/wal_reader.cpp) on arbitrary segments, and the transaction-end decoding
// (pg/xact_record.cpp) of every record it hands out. The input is the start of a 1 MiB segment
// (the rest zeros, as a segment the server has not finished); it is fed at the segment its first
// page header names, so seeds cut from real WAL read as the server wrote them. When the reader
// wants more, a second segment follows: the input's tail past 1 MiB, else zeros. Every view of a
// record is read whole, so ASan sees any that points outside the segment or the reader's buffer.
#include <cstring>

#include "core/little_endian.h"
#include "fuzz_support.h"
#include "pg/wal_reader.h"
#include "pg/xact_record.h"

using namespace pgdr;

namespace {

constexpr std::uint64_t kSegmentBytes = 1u << 20;
constexpr int kMaxRecords = 100000;

std::uint64_t checksum(ByteView v) {
  std::uint64_t sum = 0;
  for (std::uint8_t b : v) sum += b;
  return sum;
}

// Reads every record the reader has; returns false once the WAL ended.
bool drain(pg::WalReader& reader, std::uint64_t& sink) {
  for (int i = 0; i < kMaxRecords; ++i) {
    const pg::WalRecord* r = reader.next();
    if (!r) return !reader.ended();
    fuzz::require(r->end_lsn.value > r->lsn.value, "a record ends after it starts");
    sink += checksum(r->main_data);
    for (const auto& b : r->blocks) sink += checksum(b.data) + checksum(b.image.bytes);
    fuzz::expect_errors({ErrorKind::corrupt}, [&] { pg::xact_end(*r); });
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::vector<std::uint8_t> segments(2 * kSegmentBytes);
  const std::size_t used = std::min<std::size_t>(size, segments.size());
  std::memcpy(segments.data(), data, used);

  // The segment the first page names (xlp_pageaddr), within timeline 1's first 4 GiB of segments.
  std::uint64_t start = size >= 16 ? get_u64le(data + 8) : 0;
  start = (start / kSegmentBytes) % (std::uint64_t{1} << 32) * kSegmentBytes;

  std::uint64_t sink = 0;
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    pg::WalReader reader(kSegmentBytes);
    reader.feed(1, pg::Lsn{start}, ByteView(segments.data(), kSegmentBytes));
    if (!drain(reader, sink)) return;
    reader.feed(1, pg::Lsn{start + kSegmentBytes}, ByteView(segments.data() + kSegmentBytes, kSegmentBytes));
    drain(reader, sink);
  });
  std::memset(segments.data(), 0, used);
  return sink == 1 ? 1 : 0;  // keeps the reads of every view
}
