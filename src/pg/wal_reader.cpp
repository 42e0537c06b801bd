#include "pg/wal_reader.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"
#include "pg/version.h"

namespace pgdr::pg {

namespace {

// src/include/access/xlog_internal.h
constexpr std::size_t kShortPageHeaderBytes = kWalShortPageHeaderBytes;
constexpr std::uint16_t kFirstIsContrecord = 0x0001;
constexpr std::uint16_t kLongHeader = 0x0002;
constexpr std::uint16_t kFirstIsOverwriteContrecord = 0x0008;
constexpr std::uint16_t kAllPageFlags = 0x000F;  // with XLP_BKP_REMOVABLE 0x0004

// src/include/access/xlogrecord.h
constexpr std::size_t kRecordHeaderBytes = 24;  // SizeOfXLogRecord
constexpr std::size_t kCrcOffset = 20;          // offsetof(XLogRecord, xl_crc)
constexpr std::uint8_t kMaxBlockId = 32;
constexpr std::uint8_t kBlockIdDataShort = 255;
constexpr std::uint8_t kBlockIdDataLong = 254;
constexpr std::uint8_t kBlockIdOrigin = 253;
constexpr std::uint8_t kBlockIdToplevelXid = 252;
constexpr std::uint8_t kForkMask = 0x0F;
constexpr std::uint8_t kBlockHasImage = 0x10;
constexpr std::uint8_t kBlockHasData = 0x20;
constexpr std::uint8_t kBlockWillInit = 0x40;
constexpr std::uint8_t kBlockSameRel = 0x80;
constexpr std::uint8_t kImageHasHole = 0x01;

// Larger than any record a server writes (16 and later cap them at 1020 MiB, XLogRecordMaxSize):
// a length past it is damage, and must not size an allocation.
constexpr std::uint32_t kMaxRecordBytes = 1u << 30;

// The highest built-in resource manager id (RM_LOGICALMSG_ID, 21, in every supported major);
// 15 added custom resource managers, ids 128 to 255.
constexpr std::uint8_t kMaxBuiltinRmgr = 21;
constexpr std::uint8_t kFirstCustomRmgr = 128;

constexpr std::uint64_t maxalign(std::uint64_t v) { return (v + 7) & ~std::uint64_t{7}; }

std::string hex4(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", v & 0xFFFFu);
  return buf;
}

struct ImageBits {
  std::uint8_t apply;
  std::uint8_t pglz;
  std::uint8_t lz4;
  std::uint8_t zstd;
  std::uint8_t all;
};

// bimg_info of each major (src/include/access/xlogrecord.h of REL_14_STABLE and of 15 on).
ImageBits image_bits(int major) {
  if (major == 14) return {0x04, 0x02, 0, 0, 0x07};
  return {0x02, 0x04, 0x08, 0x10, 0x1F};
}

}  // namespace

WalReader::WalReader(std::uint64_t segment_bytes) : segment_bytes_(segment_bytes) {
  blocks_.reserve(kMaxBlockId + 1);
}

void WalReader::feed(std::string_view file_name, ByteView bytes) {
  auto name = parse_segment_file_name(file_name, segment_bytes_);
  if (!name)
    throw Error(ErrorKind::corrupt, "invalid WAL segment name '" + std::string(file_name) + "' for " +
                                        std::to_string(segment_bytes_) + "-byte segments");
  feed(name->timeline, Lsn{name->segno * segment_bytes_}, bytes);
}

void WalReader::feed(std::uint32_t timeline, Lsn segment_start, ByteView bytes) {
  const std::string name = segment_file_name(timeline, segment_start.value / segment_bytes_, segment_bytes_);
  if (segment_start.value % segment_bytes_ != 0)
    throw Error(ErrorKind::internal, "WAL segment " + name + " fed at " + to_string(segment_start) +
                                         ", which is not a segment boundary");
  if (bytes.size() != segment_bytes_)
    throw Error(ErrorKind::corrupt, "invalid WAL segment " + name + " (" + std::to_string(bytes.size()) +
                                        " bytes where a segment has " + std::to_string(segment_bytes_) +
                                        ": truncated or of another segment size)");
  if (fed_) {
    if (ended_)
      throw Error(ErrorKind::corrupt, "invalid WAL segment " + name + " (the WAL ended at " + to_string(Lsn{pos_}) +
                                          " in segment " + segment_name_ + ", before it)");
    if (segment_start.value != pos_)
      throw Error(ErrorKind::corrupt, "invalid WAL segment " + name + " (it does not follow segment " +
                                          segment_name_ + ": the WAL continues at " + to_string(Lsn{pos_}) + ")");
  } else {
    pos_ = segment_start.value;
    skipping_ = true;  // until the first page says whether it continues a record
    fed_ = true;
  }
  segment_ = bytes;
  segment_start_ = segment_start.value;
  timeline_ = timeline;
  segment_name_ = name;
}

void WalReader::feed_tail(std::uint32_t timeline, Lsn segment_start, ByteView tail) {
  if (tail.size() == segment_bytes_) return feed(timeline, segment_start, tail);
  const std::string name = segment_file_name(timeline, segment_start.value / segment_bytes_, segment_bytes_);
  if (fed_ || segment_start.value % segment_bytes_ != 0 || tail.empty() || tail.size() > segment_bytes_ ||
      tail.size() % kWalPageBytes != 0)
    throw Error(ErrorKind::internal, "WAL segment " + name + " fed with a tail of " + std::to_string(tail.size()) +
                                         " bytes at " + to_string(segment_start));
  // at() and segment_end() work from segment_start_: here the address of the tail's first byte.
  segment_ = tail;
  segment_start_ = segment_start.value + (segment_bytes_ - tail.size());
  pos_ = segment_start_;
  skipping_ = true;  // until the tail's first page says whether it continues a record
  fed_ = true;
  timeline_ = timeline;
  segment_name_ = name;
}

void WalReader::fail_record(std::uint64_t lsn, const std::string& why) const {
  throw Error(ErrorKind::corrupt,
              "invalid WAL record at " + to_string(Lsn{lsn}) + " in segment " + segment_name_ + " (" + why + ")");
}

void WalReader::fail_page(std::uint64_t lsn, const std::string& why) const {
  throw Error(ErrorKind::corrupt,
              "invalid WAL page header at " + to_string(Lsn{lsn}) + " in segment " + segment_name_ + " (" + why + ")");
}

std::optional<WalReader::PageHeader> WalReader::read_page_header(std::uint64_t page_lsn) {
  const std::uint8_t* p = at(page_lsn);
  if (std::all_of(p, p + kShortPageHeaderBytes, [](std::uint8_t b) { return b == 0; })) return std::nullopt;

  // A page is never cut short here: segments are whole and page-aligned (feed()).
  const WalPageHeader d = *decode_wal_page_header(ByteView(p, kWalPageBytes));
  if (auto problem = wal_page_header_problem(d)) fail_page(page_lsn, *problem);
  if (major_ && *d.major != *major_)
    fail_page(page_lsn, "magic " + hex4(d.magic) + " of PostgreSQL " + std::to_string(*d.major) +
                            " after pages of PostgreSQL " + std::to_string(*major_));
  major_ = d.major;

  PageHeader h;
  h.info = d.info;
  h.rem_len = d.rem_len;
  h.size = d.size();
  if (d.page_address.value != page_lsn)
    fail_page(page_lsn, "page address " + to_string(d.page_address) + " where " + to_string(Lsn{page_lsn}) +
                            " was expected");
  const bool first_page = page_lsn % segment_bytes_ == 0;
  if (d.long_header) {
    if (system_id_ && d.system_identifier != *system_id_)
      fail_page(page_lsn, "system identifier " + std::to_string(d.system_identifier) + " after segments of system " +
                              std::to_string(*system_id_));
    if (d.segment_bytes != segment_bytes_)
      fail_page(page_lsn, "segment size " + std::to_string(d.segment_bytes) + " where " +
                              std::to_string(segment_bytes_) + " was expected");
    system_id_ = d.system_identifier;
  } else if (first_page) {
    fail_page(page_lsn, "the first page of a segment lacks the long header");
  }
  const std::uint32_t tli = d.timeline;
  // A timeline only ever moves forward along the WAL (xlogreader.c checks the same).
  if (tli < page_timeline_)
    fail_page(page_lsn, "timeline " + std::to_string(tli) + " after pages of timeline " +
                            std::to_string(page_timeline_));
  if (tli > timeline_)
    fail_page(page_lsn, "timeline " + std::to_string(tli) + " in a segment of timeline " + std::to_string(timeline_));
  page_timeline_ = tli;
  return h;
}

std::optional<WalPageHeader> decode_wal_page_header(ByteView page) {
  if (page.size() < kWalShortPageHeaderBytes) return std::nullopt;
  const std::uint8_t* p = page.data();
  WalPageHeader h;
  h.magic = get_u16le(p);
  h.major = major_of_wal_page_magic(h.magic);
  h.info = get_u16le(p + 2);
  h.timeline = get_u32le(p + 4);
  h.page_address = Lsn{get_u64le(p + 8)};
  h.rem_len = get_u32le(p + 16);
  h.long_header = (h.info & kLongHeader) != 0;
  if (h.long_header) {
    if (page.size() < kWalLongPageHeaderBytes) return std::nullopt;
    h.system_identifier = get_u64le(p + 24);
    h.segment_bytes = get_u32le(p + 32);
    h.block_bytes = get_u32le(p + 36);
  }
  return h;
}

std::optional<std::string> wal_page_header_problem(const WalPageHeader& h) {
  if (!h.major) return "magic " + hex4(h.magic) + " is not one of " + supported_range_text();
  if ((h.info & ~kAllPageFlags) != 0) return "unknown info bits " + hex4(h.info);
  if (h.long_header && h.block_bytes != kWalPageBytes)
    return "WAL block size " + std::to_string(h.block_bytes) + " where pgdr reads " + std::to_string(kWalPageBytes);
  return std::nullopt;
}

std::optional<std::string> segment_first_page_problem(ByteView first_page, std::uint32_t timeline, Lsn segment_start,
                                                      std::uint64_t segment_bytes) {
  const std::size_t n = std::min(first_page.size(), kWalLongPageHeaderBytes);
  if (n > 0 && std::all_of(first_page.data(), first_page.data() + n, [](std::uint8_t b) { return b == 0; }))
    return std::string("its first page header is all zeros, not written WAL");
  auto h = decode_wal_page_header(first_page);
  if (!h) return "only " + std::to_string(first_page.size()) + " bytes, shorter than a WAL page header";
  if (auto problem = wal_page_header_problem(*h)) return problem;
  if (!h->long_header) return std::string("its first page lacks the long header");
  if (!is_valid_wal_segment_size(h->segment_bytes))
    return "its page header gives segment size " + std::to_string(h->segment_bytes) +
           ", not a power of two from 1 MiB to 1 GiB";
  if (h->segment_bytes != segment_bytes)
    return "segment size " + std::to_string(h->segment_bytes) + " where " + std::to_string(segment_bytes) +
           " was expected";
  if (h->page_address != segment_start)
    return "page address " + to_string(h->page_address) + " where " + to_string(segment_start) +
           " was expected: the segment of another position";
  if (h->timeline == 0 || h->timeline > timeline)
    return "page timeline " + std::to_string(h->timeline) + " in a file of timeline " + std::to_string(timeline);
  return std::nullopt;
}

void WalReader::check_record_header(std::uint64_t lsn, const std::uint8_t* header) {
  const std::uint32_t total = get_u32le(header);
  if (total < kRecordHeaderBytes)
    fail_record(lsn, "length " + std::to_string(total) + " is shorter than a record header");
  if (total > kMaxRecordBytes) fail_record(lsn, "length " + std::to_string(total) + " is too large");
  const std::uint8_t rmid = header[17];
  const bool custom = major_.value_or(kNewestMajor) >= 15 && rmid >= kFirstCustomRmgr;
  if (rmid > kMaxBuiltinRmgr && !custom) fail_record(lsn, "invalid resource manager id " + std::to_string(rmid));
  const std::uint64_t prev = get_u64le(header + 8);
  if (prev_lsn_) {
    if (prev != *prev_lsn_)
      fail_record(lsn, "previous record pointer " + to_string(Lsn{prev}) + " where " + to_string(Lsn{*prev_lsn_}) +
                           " was expected");
  } else if (prev >= lsn) {
    fail_record(lsn, "previous record pointer " + to_string(Lsn{prev}) + " is not before the record");
  }
}

const WalRecord* WalReader::next() {
  if (!fed_) return nullptr;
  while (!ended_ && pos_ < segment_end()) {
    if (pos_ % kWalPageBytes == 0) {
      const std::uint64_t page = pos_;
      auto h = read_page_header(page);
      if (!h) {
        // Zeros where a page should start: the server has written no further. A record that was
        // being copied together is incomplete, and is not returned.
        ended_ = true;
        if (assembling_) pos_ = record_lsn_;
        assembling_ = false;
        return nullptr;
      }
      const std::uint64_t room = kWalPageBytes - h->size;
      if (skipping_) {
        // The first segment read starts inside a record: skip its rest, which may cover pages.
        if (!(h->info & kFirstIsContrecord)) {
          skipping_ = false;
          pos_ = page + h->size;
        } else if (maxalign(h->rem_len) >= room) {
          pos_ = page + kWalPageBytes;
        } else {
          skipping_ = false;
          pos_ = page + h->size + maxalign(h->rem_len);
        }
        continue;
      }
      if (assembling_) {
        if (h->info & kFirstIsOverwriteContrecord) {
          // The rest of this record was lost in a crash and this page replaced it: drop it; the
          // page starts with the record that says so.
          overwritten_lsn_ = record_lsn_;
          assembling_ = false;
          pos_ = page + h->size;
          continue;
        }
        if (!(h->info & kFirstIsContrecord))
          fail_record(record_lsn_, "it continues on page " + to_string(Lsn{page}) + ", which lacks the contrecord flag");
        if (h->rem_len == 0 || std::uint64_t{h->rem_len} + record_got_ != record_bytes_)
          fail_record(record_lsn_, "page " + to_string(Lsn{page}) + " continues it with " + std::to_string(h->rem_len) +
                                       " bytes where " + std::to_string(record_bytes_ - record_got_) +
                                       " were expected");
        if (buffer_.size() < record_bytes_) buffer_.resize(record_bytes_);
        const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::uint64_t>(h->rem_len, room));
        std::copy_n(at(page + h->size), n, buffer_.data() + record_got_);
        record_got_ += n;
        if (!record_header_checked_ && record_got_ >= kRecordHeaderBytes) {
          check_record_header(record_lsn_, buffer_.data());
          record_header_checked_ = true;
        }
        if (record_got_ < record_bytes_) {
          pos_ = page + kWalPageBytes;
          continue;
        }
        assembling_ = false;
        return finish_record(record_lsn_, buffer_.data(), page + h->size + n);
      }
      if (h->info & kFirstIsContrecord)
        fail_page(page, "the contrecord flag is set where a record should start");
      pos_ = page + h->size;
    }

    // A record starts at pos_. Its length is on this page (records are 8-aligned), the rest of
    // the header need not be.
    const std::uint64_t lsn = pos_;
    const std::uint8_t* p = at(lsn);
    const std::uint32_t total = get_u32le(p);
    if (total == 0) {
      ended_ = true;
      return nullptr;
    }
    const std::uint64_t room = kWalPageBytes - lsn % kWalPageBytes;
    if (total <= room) {
      check_record_header(lsn, p);
      return finish_record(lsn, p, lsn + total);
    }
    if (room >= kRecordHeaderBytes) {
      check_record_header(lsn, p);
      record_header_checked_ = true;
    } else {
      if (total < kRecordHeaderBytes || total > kMaxRecordBytes)
        fail_record(lsn, "length " + std::to_string(total) + " is not a record's");
      record_header_checked_ = false;
    }
    // Only the first page's part is copied now; the buffer grows to the whole record once the next
    // page's header has confirmed its length.
    if (buffer_.size() < room) buffer_.resize(kWalPageBytes);
    std::copy_n(p, room, buffer_.data());
    assembling_ = true;
    record_lsn_ = lsn;
    record_bytes_ = total;
    record_got_ = static_cast<std::uint32_t>(room);
    pos_ = lsn + room;
  }
  return nullptr;
}

const WalRecord* WalReader::finish_record(std::uint64_t lsn, const std::uint8_t* bytes, std::uint64_t end) {
  const std::uint32_t total = get_u32le(bytes);
  Crc32c crc;
  crc.update(ByteView(bytes + kRecordHeaderBytes, total - kRecordHeaderBytes));
  crc.update(ByteView(bytes, kCrcOffset));
  if (crc.value() != get_u32le(bytes + kCrcOffset)) fail_record(lsn, "CRC mismatch");

  decode(lsn, bytes);
  std::uint64_t next = maxalign(end);
  const bool xlog = record_.rmid == kRmgrXlog;
  // The rest of a segment after a switch is padding: reading goes on at the next segment.
  if (xlog && (record_.info & 0xF0) == kXlogSwitch && next % segment_bytes_ != 0)
    next += segment_bytes_ - next % segment_bytes_;
  if (overwritten_lsn_) {
    if (!xlog || (record_.info & 0xF0) != kXlogOverwriteContrecord || record_.main_data.size() < 8)
      fail_record(lsn, "the record at " + to_string(Lsn{*overwritten_lsn_}) +
                           " was overwritten, but this is no overwrite-contrecord record");
    const std::uint64_t named = get_u64le(record_.main_data.data());
    if (named != *overwritten_lsn_)
      fail_record(lsn, "overwrite-contrecord record names " + to_string(Lsn{named}) + " where the record at " +
                           to_string(Lsn{*overwritten_lsn_}) + " was overwritten");
    overwritten_lsn_.reset();
  }
  record_.end_lsn = Lsn{next};
  prev_lsn_ = lsn;
  pos_ = next;
  return &record_;
}

void WalReader::decode(std::uint64_t lsn, const std::uint8_t* bytes) {
  record_.lsn = Lsn{lsn};
  record_.total_bytes = get_u32le(bytes);
  record_.xid = get_u32le(bytes + 4);
  record_.prev = Lsn{get_u64le(bytes + 8)};
  record_.info = bytes[16];
  record_.rmid = bytes[17];
  record_.origin.reset();
  record_.toplevel_xid.reset();
  blocks_.clear();

  const std::uint8_t* p = bytes + kRecordHeaderBytes;
  std::uint64_t remaining = record_.total_bytes - kRecordHeaderBytes;
  std::uint64_t data_total = 0;  // bytes of images, block data and main data announced so far
  std::uint32_t main_bytes = 0;
  int max_block_id = -1;
  bool have_rel = false;
  RelFileLocator last_rel;
  const ImageBits bits = image_bits(major_.value_or(kNewestMajor));
  // The images and data follow all the headers, so their lengths wait here until they are placed.
  std::array<std::uint16_t, kMaxBlockId + 1> image_bytes{};
  std::array<std::uint16_t, kMaxBlockId + 1> data_bytes{};

  auto take = [&](std::size_t n) {
    if (remaining < n) fail_record(lsn, "its block headers run past its end");
    const std::uint8_t* field = p;
    p += n;
    remaining -= n;
    return field;
  };

  while (remaining > data_total) {
    const std::uint8_t id = *take(1);
    if (id == kBlockIdDataShort) {
      main_bytes = *take(1);
      data_total += main_bytes;
      break;  // the main data header is always the last
    }
    if (id == kBlockIdDataLong) {
      main_bytes = get_u32le(take(4));
      data_total += main_bytes;
      break;
    }
    if (id == kBlockIdOrigin) {
      record_.origin = get_u16le(take(2));
      continue;
    }
    if (id == kBlockIdToplevelXid) {
      record_.toplevel_xid = get_u32le(take(4));
      continue;
    }
    if (id > kMaxBlockId) fail_record(lsn, "invalid block id " + std::to_string(id));
    if (id <= max_block_id) fail_record(lsn, "block id " + std::to_string(id) + " out of order");
    max_block_id = id;

    BlockRef b;
    b.id = id;
    const std::uint8_t fork_flags = *take(1);
    const std::uint16_t data_len = get_u16le(take(2));
    if ((fork_flags & kForkMask) > static_cast<std::uint8_t>(ForkNumber::init))
      fail_record(lsn, "block " + std::to_string(id) + " has invalid fork " + std::to_string(fork_flags & kForkMask));
    b.fork = static_cast<ForkNumber>(fork_flags & kForkMask);
    b.will_init = fork_flags & kBlockWillInit;
    b.has_image = fork_flags & kBlockHasImage;
    b.has_data = fork_flags & kBlockHasData;
    if (b.has_data != (data_len != 0))
      fail_record(lsn, "block " + std::to_string(id) + " has a data flag that disagrees with its " +
                           std::to_string(data_len) + " bytes of data");
    data_total += data_len;
    data_bytes[blocks_.size()] = data_len;

    if (b.has_image) {
      const std::uint8_t* ih = take(5);
      const std::uint16_t image_len = get_u16le(ih);
      b.image.hole_offset = get_u16le(ih + 2);
      const std::uint8_t info = ih[4];
      if (info & ~bits.all) fail_record(lsn, "block " + std::to_string(id) + " has unknown image bits " + hex4(info));
      b.image.apply = info & bits.apply;
      const std::uint8_t compressed = info & (bits.pglz | bits.lz4 | bits.zstd);
      if (compressed == 0) b.image.compression = ImageCompression::none;
      else if (compressed == bits.pglz) b.image.compression = ImageCompression::pglz;
      else if (compressed == bits.lz4) b.image.compression = ImageCompression::lz4;
      else if (compressed == bits.zstd) b.image.compression = ImageCompression::zstd;
      else fail_record(lsn, "block " + std::to_string(id) + " image claims several compressions");
      const bool has_hole = info & kImageHasHole;
      const bool is_compressed = compressed != 0;
      if (has_hole && is_compressed) b.image.hole_length = get_u16le(take(2));
      else if (has_hole) b.image.hole_length = static_cast<std::uint16_t>(kWalPageBytes - image_len);
      else b.image.hole_length = 0;
      // The consistency checks of xlogreader.c: a hole is a real one, an image without one is a
      // whole page unless compressed, and a compressed image is smaller than a page.
      if ((has_hole && (b.image.hole_offset == 0 || b.image.hole_length == 0 || image_len == kWalPageBytes)) ||
          (!has_hole && b.image.hole_offset != 0) || (is_compressed && image_len == kWalPageBytes) ||
          (!has_hole && !is_compressed && image_len != kWalPageBytes) ||
          std::uint64_t{b.image.hole_offset} + b.image.hole_length > kWalPageBytes)
        fail_record(lsn, "block " + std::to_string(id) + " image of " + std::to_string(image_len) +
                             " bytes has an inconsistent hole (offset " + std::to_string(b.image.hole_offset) +
                             ", length " + std::to_string(b.image.hole_length) + ")");
      image_bytes[blocks_.size()] = image_len;
      data_total += image_len;
    }
    if (!(fork_flags & kBlockSameRel)) {
      const std::uint8_t* r = take(12);
      last_rel = {get_u32le(r), get_u32le(r + 4), get_u32le(r + 8)};
      have_rel = true;
    } else if (!have_rel) {
      fail_record(lsn, "block " + std::to_string(id) + " refers to the previous block's relation, and there is none");
    }
    b.rel = last_rel;
    b.block = get_u32le(take(4));
    blocks_.push_back(b);
  }
  if (remaining != data_total)
    fail_record(lsn, "its headers announce " + std::to_string(data_total) + " bytes of data where " +
                         std::to_string(remaining) + " follow");

  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    BlockRef& b = blocks_[i];
    if (b.has_image) b.image.bytes = ByteView(p, image_bytes[i]);
    p += image_bytes[i];
    if (b.has_data) b.data = ByteView(p, data_bytes[i]);
    p += data_bytes[i];
  }
  record_.main_data = ByteView(p, main_bytes);
  record_.blocks = std::span<const BlockRef>(blocks_.data(), blocks_.size());
}

}  // namespace pgdr::pg
