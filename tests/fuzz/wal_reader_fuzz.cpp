// The WAL reader (pg/wal_reader.cpp) on arbitrary segments, and the transaction-end decoding
// (pg/xact_record.cpp) of every record it hands out. The input is the start of a 1 MiB segment
// (the rest zeros, as a segment the server has not finished); it is fed at the segment its first
// page header names, so seeds cut from real WAL read as the server wrote them. When the reader
// wants more, a second segment follows: the input's tail past 1 MiB, else zeros. Every view of a
// record is read whole, so ASan sees any that points outside the segment or the reader's buffer.
//
// Random bytes almost never carry a record's CRC-32C, so the record decoding behind the CRC check
// would stay out of reach: when bit 0 of byte 20 of the input is set (padding of the first page
// header, which the reader ignores; zero in real WAL) the target first writes the right CRC into
// every record that lies within one page, as a server would.
#include <cstring>

#include "core/little_endian.h"
#include "pg/crc32c.h"
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

constexpr std::size_t kPageBytes = pg::kWalPageBytes;

// Sets the CRC of every record of the first segment's pages [0, end) that does not cross a page.
void fix_crcs(std::uint8_t* seg, std::size_t end) {
  for (std::size_t page = 0; page + kPageBytes <= end; page += kPageBytes) {
    const std::uint16_t info = get_u16le(seg + page + 2);
    std::size_t pos = page + ((info & 0x0002) ? 40 : 24);
    if (info & 0x0001) pos += (get_u32le(seg + page + 16) + 7) & ~std::size_t{7};
    while (pos + 24 <= page + kPageBytes) {
      const std::uint32_t total = get_u32le(seg + pos);
      if (total < 24 || total > page + kPageBytes - pos) break;
      pg::Crc32c crc;
      crc.update(ByteView(seg + pos + 24, total - 24));
      crc.update(ByteView(seg + pos, 20));
      const std::uint32_t v = crc.value();
      for (int i = 0; i < 4; ++i) seg[pos + 20 + i] = static_cast<std::uint8_t>(v >> (8 * i));
      pos += (total + 7) & ~std::size_t{7};
    }
  }
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
  if (size > 20 && (data[20] & 1)) fix_crcs(segments.data(), std::min<std::size_t>(used + kPageBytes - 1, kSegmentBytes));

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
