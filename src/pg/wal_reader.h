// WalReader decodes PostgreSQL's write-ahead log, majors 14 to 18, from whole segments fed in
// order: page headers checked (magic, address, the long header's system id, segment and block
// size), records reassembled across pages and segments, each record's CRC-32C verified, block
// references and main data decoded (pg/wal_record.h). It is pgdr's own reading of the WAL, so that
// no pg_waldump of the cluster's major is needed on the host.
//
// Byte formats, per major where they differ:
//   page      XLogPageHeaderData (24 bytes) on every 8 KiB page, XLogLongPageHeaderData (40) on a
//             segment's first; xlp_magic names the major (pg::wal_page_magic); a record that does
//             not fit continues on the next page, whose header carries XLP_FIRST_IS_CONTRECORD
//             and the bytes still to come (xlp_rem_len). XLP_FIRST_IS_OVERWRITE_CONTRECORD marks
//             a page that replaced the rest of a record lost in a crash: the partial record is
//             dropped and the page starts with an XLOG_OVERWRITE_CONTRECORD record naming it.
//   record    XLogRecord (24 bytes, 8-aligned): total length, xid, prev, info, rmid, CRC-32C over
//             the body then the first 20 header bytes; then block headers, the main data header,
//             block images and data in block order, main data.
//   images    bimg_info: 14 has HAS_HOLE 0x01, IS_COMPRESSED 0x02 (pglz), APPLY 0x04; 15 and
//             later HAS_HOLE 0x01, APPLY 0x02, COMPRESS_PGLZ 0x04, COMPRESS_LZ4 0x08,
//             COMPRESS_ZSTD 0x10.
//
// Usage: feed() a segment, call next() until it returns nullptr, feed the next segment, and so on.
// The first segment may start in the middle of a record; reading then begins at the first record
// that starts in it. The first segment may also be only its last pages (feed_tail()). Where the WAL ends (zeros, or a record length of 0, where a record should
// start) next() returns nullptr for good and ended() is true; after an XLOG_SWITCH record the
// rest of its segment is padding and reading goes on in the next segment.
//
// Memory: the reader copies only records that cross a page boundary, into one buffer that grows to
// the largest such record; the block list is reused. Errors are Error(corrupt), one line naming the
// segment, the LSN and the check that failed. Not thread-safe; one reader per WAL stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "pg/lsn.h"
#include "pg/wal_record.h"

namespace pgdr::pg {

inline constexpr std::size_t kWalPageBytes = 8192;
inline constexpr std::size_t kWalShortPageHeaderBytes = 24;  // MAXALIGN(sizeof(XLogPageHeaderData))
inline constexpr std::size_t kWalLongPageHeaderBytes = 40;   // MAXALIGN(sizeof(XLogLongPageHeaderData))

// One WAL page header as written (XLogPageHeaderData, and XLogLongPageHeaderData when the long
// header flag is set). The reader below and every check of a WAL file's first page (archive-push,
// archive-get, verify) decode it here, once.
struct WalPageHeader {
  std::uint16_t magic = 0;
  std::optional<int> major;  // the supported major whose magic this is
  std::uint16_t info = 0;
  std::uint32_t timeline = 0;
  Lsn page_address;
  std::uint32_t rem_len = 0;
  bool long_header = false;
  // Long header only:
  std::uint64_t system_identifier = 0;
  std::uint32_t segment_bytes = 0;
  std::uint32_t block_bytes = 0;
  std::size_t size() const { return long_header ? kWalLongPageHeaderBytes : kWalShortPageHeaderBytes; }
};

// Decodes the header at the start of page; nullopt when page is shorter than the header it
// announces. Checks nothing.
std::optional<WalPageHeader> decode_wal_page_header(ByteView page);
// What is wrong with a header on its own, or nullopt: a magic that is not a supported major's,
// unknown info bits, a long header with a WAL block size other than kWalPageBytes.
std::optional<std::string> wal_page_header_problem(const WalPageHeader& h);
// PostgreSQL's IsValidWalSegSize: a power of two from 1 MiB to 1 GiB.
constexpr bool is_valid_wal_segment_size(std::uint64_t bytes) {
  return bytes >= (1u << 20) && bytes <= (1u << 30) && (bytes & (bytes - 1)) == 0;
}
// What is wrong with first_page as the start of the segment of timeline that starts at
// segment_start (segment_bytes long), or nullopt. Beyond wal_page_header_problem: the long header
// flag, a valid segment size equal to segment_bytes, the page address, and a timeline no later
// than the file's (the first segment of a new timeline starts with pages of its parent). An
// all-zero page is named as such: it is no written WAL.
std::optional<std::string> segment_first_page_problem(ByteView first_page, std::uint32_t timeline, Lsn segment_start,
                                                      std::uint64_t segment_bytes);

class WalReader {
 public:
  explicit WalReader(std::uint64_t segment_bytes = kDefaultWalSegmentBytes);
  WalReader(const WalReader&) = delete;
  WalReader& operator=(const WalReader&) = delete;

  // The next segment: bytes of the whole file, named as PostgreSQL names it (the timeline and
  // position come from the name). bytes must stay valid until next() has returned nullptr: by
  // then the reader has copied what it still needs. Throws Error(corrupt) for a name that is not a
  // segment's, a size other than the segment size, or a segment that does not follow the previous
  // one.
  void feed(std::string_view file_name, ByteView bytes);
  // The same, for a segment known by its timeline and starting LSN.
  void feed(std::uint32_t timeline, Lsn segment_start, ByteView bytes);
  // As the first feed only: the last tail.size() bytes of that segment (whole pages), read from
  // the first record that starts in them. Throws Error(internal) for a tail that is not whole
  // pages of one segment, or after another feed.
  void feed_tail(std::uint32_t timeline, Lsn segment_start, ByteView tail);

  // The next record, whole and verified; nullptr when the fed segments hold no further record
  // (feed the next one), or when the WAL has ended. The record and its views are valid until the
  // next call to next() or feed().
  const WalRecord* next();

  // True once the end of the WAL was seen; next() returns nullptr from then on.
  bool ended() const { return ended_; }
  // Where the next record starts (or would have started, once ended()).
  Lsn position() const { return Lsn{pos_}; }
  // True while a record that crosses into the segment not yet fed is pending.
  bool in_record() const { return assembling_; }
  // The major whose WAL this is (from the page magic); nullopt before the first page is read.
  std::optional<int> major() const { return major_; }
  // xlp_sysid of the long page headers; nullopt before the first segment's first page is read.
  std::optional<std::uint64_t> system_identifier() const { return system_id_; }

 private:
  struct PageHeader {
    std::uint16_t info = 0;
    std::uint32_t rem_len = 0;
    std::size_t size = 0;  // 24, or 40 with the long header
  };

  const std::uint8_t* at(std::uint64_t lsn) const { return segment_.data() + (lsn - segment_start_); }
  std::uint64_t segment_end() const { return segment_start_ + segment_.size(); }
  // Checks the page header at page_lsn; nullopt when the page is all zeros there (end of WAL).
  std::optional<PageHeader> read_page_header(std::uint64_t page_lsn);
  void check_record_header(std::uint64_t lsn, const std::uint8_t* header);
  const WalRecord* finish_record(std::uint64_t lsn, const std::uint8_t* bytes, std::uint64_t end);
  void decode(std::uint64_t lsn, const std::uint8_t* bytes);
  [[noreturn]] void fail_record(std::uint64_t lsn, const std::string& why) const;
  [[noreturn]] void fail_page(std::uint64_t lsn, const std::string& why) const;

  std::uint64_t segment_bytes_;
  ByteView segment_;
  std::uint64_t segment_start_ = 0;
  std::uint32_t timeline_ = 0;
  std::string segment_name_;
  bool fed_ = false;

  std::uint64_t pos_ = 0;  // the next byte to read: a record start, or a page start
  bool ended_ = false;
  bool skipping_ = false;  // the first segment's first page continues a record: skip past it
  std::optional<std::uint64_t> prev_lsn_;
  std::optional<std::uint64_t> overwritten_lsn_;  // a record aborted by an overwrite contrecord

  // A record that crosses pages, being copied together.
  bool assembling_ = false;
  std::uint64_t record_lsn_ = 0;
  std::uint32_t record_bytes_ = 0;
  std::uint32_t record_got_ = 0;
  bool record_header_checked_ = false;
  std::vector<std::uint8_t> buffer_;

  std::optional<int> major_;
  std::optional<std::uint64_t> system_id_;
  std::uint32_t page_timeline_ = 0;

  WalRecord record_;
  std::vector<BlockRef> blocks_;
};

}  // namespace pgdr::pg
