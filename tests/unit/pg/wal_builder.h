// Writes WAL segments byte by byte the way a server lays them out (page headers, contrecords,
// 8-byte record alignment, CRC-32C), for the cases real fixtures cannot show on demand: a record
// header split across pages, a record lost in a crash and overwritten, origins and top-level xids,
// each major's image bits.
#pragma once

#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "wal_fixtures.h"

namespace pgdr::pg::testing {

class WalBuilder {
 public:
  static constexpr std::uint64_t kSegmentBytes = 1u << 20;
  static constexpr std::uint64_t kSystemId = 7000000000000000042ull;

  WalBuilder(int major, std::uint64_t first_segno);

  // Appends a record whose body (block headers, data, main data) is given; returns its lsn.
  std::uint64_t append(std::uint8_t rmid, std::uint8_t info, std::uint32_t xid, const Bytes& body);
  // Appends the first part of such a record, up to the end of the current page only, as a server
  // that crashed before writing the rest; returns its lsn.
  std::uint64_t append_torn(std::uint8_t rmid, std::uint8_t info, std::uint32_t xid, const Bytes& body);
  // Starts the next page as recovery does after such a crash: XLP_FIRST_IS_OVERWRITE_CONTRECORD and
  // an XLOG_OVERWRITE_CONTRECORD record naming overwritten_lsn; returns that record's lsn.
  std::uint64_t overwrite_contrecord(std::uint64_t overwritten_lsn);

  std::uint64_t position() const { return pos_; }
  // The segments written so far, zeros after the last record.
  std::vector<WalSegmentFile> segments() const;

 private:
  Bytes record_bytes(std::uint8_t rmid, std::uint8_t info, std::uint32_t xid, const Bytes& body) const;
  void put(const std::uint8_t* data, std::size_t n, std::size_t record_remaining, std::uint16_t extra_flags = 0);
  std::uint8_t* at(std::uint64_t lsn);

  int major_;
  std::uint64_t first_segno_;
  std::vector<Bytes> segments_;
  std::uint64_t pos_;
  std::uint64_t prev_ = 0;
};

// Main data of n bytes (value i & 0xFF at offset i), with its short or long header in front.
Bytes main_data_part(std::size_t n, Bytes* data_out = nullptr);

}  // namespace pgdr::pg::testing
