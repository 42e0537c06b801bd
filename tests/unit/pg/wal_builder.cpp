#include "wal_builder.h"

#include <algorithm>

#include "core/little_endian.h"
#include "pg/crc32c.h"
#include "pg/lsn.h"
#include "pg/version.h"

namespace pgdr::pg::testing {

namespace {
constexpr std::uint64_t kPage = 8192;
}

WalBuilder::WalBuilder(int major, std::uint64_t first_segno)
    : major_(major), first_segno_(first_segno), pos_(first_segno * kSegmentBytes) {}

std::uint8_t* WalBuilder::at(std::uint64_t lsn) {
  const std::uint64_t seg = lsn / kSegmentBytes - first_segno_;
  while (segments_.size() <= seg) segments_.emplace_back(kSegmentBytes, 0);
  return segments_[seg].data() + lsn % kSegmentBytes;
}

void WalBuilder::put(const std::uint8_t* data, std::size_t n, std::size_t record_remaining, std::uint16_t extra_flags) {
  const std::size_t record_total = record_remaining;
  while (n > 0) {
    if (pos_ % kPage == 0) {
      const bool first = pos_ % kSegmentBytes == 0;
      Bytes h;
      std::uint16_t flags = extra_flags;
      if (record_remaining < record_total) flags |= 0x0001;  // continues a record begun before
      if (first) flags |= 0x0002;
      put_u16le(h, *wal_page_magic(major_));
      put_u16le(h, flags);
      put_u32le(h, 1);
      put_u64le(h, pos_);
      put_u32le(h, flags & 0x0001 ? static_cast<std::uint32_t>(record_remaining) : 0);
      put_u32le(h, 0);
      if (first) {
        put_u64le(h, kSystemId);
        put_u32le(h, static_cast<std::uint32_t>(kSegmentBytes));
        put_u32le(h, static_cast<std::uint32_t>(kPage));
      }
      std::copy(h.begin(), h.end(), at(pos_));
      pos_ += h.size();
    }
    const std::size_t room = kPage - pos_ % kPage;
    const std::size_t k = std::min(n, room);
    std::copy_n(data, k, at(pos_));
    pos_ += k;
    data += k;
    n -= k;
    record_remaining -= k;
  }
}

Bytes WalBuilder::record_bytes(std::uint8_t rmid, std::uint8_t info, std::uint32_t xid, const Bytes& body) const {
  Bytes r;
  put_u32le(r, static_cast<std::uint32_t>(24 + body.size()));
  put_u32le(r, xid);
  put_u64le(r, prev_);
  r.insert(r.end(), {info, rmid, 0, 0, 0, 0, 0, 0});  // padding, then the CRC's place
  r.insert(r.end(), body.begin(), body.end());
  Crc32c crc;
  crc.update(ByteView(r).subspan(24));
  crc.update(ByteView(r).first(20));
  for (int i = 0; i < 4; ++i) r[20 + i] = static_cast<std::uint8_t>(crc.value() >> (8 * i));
  return r;
}

std::uint64_t WalBuilder::append(std::uint8_t rmid, std::uint8_t info, std::uint32_t xid, const Bytes& body) {
  const Bytes r = record_bytes(rmid, info, xid, body);
  // The record's lsn is where its first byte lands: after the page header at a page start.
  std::uint64_t lsn = pos_;
  if (lsn % kPage == 0) lsn += (lsn % kSegmentBytes == 0) ? 40 : 24;
  put(r.data(), r.size(), r.size());
  pos_ = (pos_ + 7) & ~std::uint64_t{7};
  prev_ = lsn;
  return lsn;
}

std::uint64_t WalBuilder::append_torn(std::uint8_t rmid, std::uint8_t info, std::uint32_t xid, const Bytes& body) {
  const Bytes r = record_bytes(rmid, info, xid, body);
  std::uint64_t lsn = pos_;
  if (lsn % kPage == 0) lsn += (lsn % kSegmentBytes == 0) ? 40 : 24;
  const std::size_t first_part = kPage - lsn % kPage;
  put(r.data(), std::min(first_part, r.size()), r.size());
  return lsn;
}

std::uint64_t WalBuilder::overwrite_contrecord(std::uint64_t overwritten_lsn) {
  pos_ = (pos_ + kPage - 1) / kPage * kPage;
  Bytes body = {255, 16};
  put_u64le(body, overwritten_lsn);
  put_u64le(body, 123456789);  // overwrite_time
  const Bytes r = record_bytes(0, 0xD0, 0, body);
  std::uint64_t lsn = pos_ + ((pos_ % kSegmentBytes == 0) ? 40 : 24);
  put(r.data(), r.size(), r.size(), 0x0008);
  pos_ = (pos_ + 7) & ~std::uint64_t{7};
  prev_ = lsn;
  return lsn;
}

std::vector<WalSegmentFile> WalBuilder::segments() const {
  std::vector<WalSegmentFile> out;
  for (std::size_t i = 0; i < segments_.size(); ++i)
    out.push_back({segment_file_name(1, first_segno_ + i, kSegmentBytes), segments_[i]});
  return out;
}

Bytes main_data_part(std::size_t n, Bytes* data_out) {
  Bytes out;
  if (n < 256) {
    out = {255, static_cast<std::uint8_t>(n)};
  } else {
    out = {254};
    put_u32le(out, static_cast<std::uint32_t>(n));
  }
  Bytes data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i);
  if (data_out) *data_out = data;
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace pgdr::pg::testing
