#include "pg/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace pgdr::pg {

namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed

// Slicing-by-8: table[k][b] is the CRC of byte b followed by k zero bytes, so eight input bytes
// cost eight lookups and no per-bit work.
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kPolynomial : 0u);
    t[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  return t;
}

constexpr Tables kTables = make_tables();

using UpdateFn = std::uint32_t (*)(std::uint32_t, ByteView);

UpdateFn choose_update() { return crc32c_sse42_available() ? crc32c_sse42 : crc32c_table; }

}  // namespace

std::uint32_t crc32c_table(std::uint32_t state, ByteView bytes) {
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  while (n >= 8) {
    // Assembled byte by byte: input is not aligned, and WAL is little-endian whatever the host.
    const std::uint32_t lo = state ^ (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
                                      std::uint32_t{p[3]} << 24);
    state = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
            kTables[4][lo >> 24] ^ kTables[3][p[4]] ^ kTables[2][p[5]] ^ kTables[1][p[6]] ^ kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) state = (state >> 8) ^ kTables[0][(state ^ *p++) & 0xFF];
  return state;
}

#if defined(__x86_64__)

bool crc32c_sse42_available() { return __builtin_cpu_supports("sse4.2"); }

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t state, ByteView bytes) {
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t crc = state;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);  // an unaligned load without undefined behaviour
    crc = _mm_crc32_u64(crc, word);
    p += 8;
    n -= 8;
  }
  auto c = static_cast<std::uint32_t>(crc);
  while (n-- > 0) c = _mm_crc32_u8(c, *p++);
  return c;
}

#else

bool crc32c_sse42_available() { return false; }
std::uint32_t crc32c_sse42(std::uint32_t state, ByteView bytes) { return crc32c_table(state, bytes); }

#endif

void Crc32c::update(ByteView bytes) {
  static const UpdateFn update_fn = choose_update();
  state_ = update_fn(state_, bytes);
}

std::uint32_t crc32c(ByteView bytes) {
  Crc32c c;
  c.update(bytes);
  return c.value();
}

}  // namespace pgdr::pg
