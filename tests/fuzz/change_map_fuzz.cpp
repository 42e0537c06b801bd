// Change maps and WAL segment summaries (pg/change_map.cpp, pg/segment_summary.cpp), stored beside
// archived segments: anyone who can write the repository can replace them. Mode bit 1 picks the
// parser (0 a change map, 1 a segment summary); with mode bit 0 set the target appends the right
// CRC-32C first, so that mutations reach the checks behind it. What parses must be the one
// encoding of what it decodes to: re-encoding gives the same bytes; and merging a map into an empty
// one gives the map.
#include "fuzz_support.h"
#include "core/little_endian.h"
#include "pg/change_map.h"
#include "pg/crc32c.h"
#include "pg/segment_summary.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::split_mode(data, size);
  Bytes bytes(in.rest.begin(), in.rest.end());
  if (in.mode & 1) put_u32le(bytes, pg::crc32c(bytes));
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    if (in.mode & 2) {
      const pg::SegmentSummary s = pg::decode_segment_summary(bytes, "fuzzed summary");
      fuzz::require(pg::encode_segment_summary(s) == bytes, "a decoded summary encodes to its bytes");
    } else {
      const pg::ChangeMap m = pg::ChangeMap::decode(bytes, "fuzzed map");
      fuzz::require(m.encode() == bytes, "a decoded map encodes to its bytes");
      pg::ChangeMap copy;
      copy.merge(m);
      fuzz::require(copy == m && copy.block_count() == m.block_count(), "a map merged into an empty one is itself");
    }
  });
  return 0;
}
