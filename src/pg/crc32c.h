// CRC-32C (Castagnoli), the checksum of PostgreSQL's WAL records (pg_crc32c): reflected polynomial
// 0x82F63B78, initial value and final xor 0xFFFFFFFF. The SSE4.2 instruction is used where the CPU
// has it (checked once, at run time); a table-driven version serves everywhere else and keeps the
// instruction honest in the tests. Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "core/bytes.h"

namespace pgdr::pg {

// A running CRC-32C: update() over the pieces in order, then value(). PostgreSQL checksums a WAL
// record's body before its header, so the pieces need not be contiguous.
class Crc32c {
 public:
  void update(ByteView bytes);
  std::uint32_t value() const { return ~state_; }

 private:
  std::uint32_t state_ = 0xFFFFFFFFu;
};

// The CRC-32C of bytes, in one piece.
std::uint32_t crc32c(ByteView bytes);

// The two implementations behind Crc32c, for the tests: each extends a raw (not yet inverted)
// state over bytes. crc32c_sse42 may be called only when crc32c_sse42_available().
std::uint32_t crc32c_table(std::uint32_t state, ByteView bytes);
bool crc32c_sse42_available();
std::uint32_t crc32c_sse42(std::uint32_t state, ByteView bytes);

}  // namespace pgdr::pg
