#include "pg/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace pgdr::pg {
namespace {

// Check values from RFC 3720 (iSCSI), appendix B.4, and the customary "123456789".
struct Vector {
  Bytes input;
  std::uint32_t crc;
};

std::vector<Vector> known_vectors() {
  Bytes zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<std::uint8_t>(i);
    down[i] = static_cast<std::uint8_t>(31 - i);
  }
  return {{to_bytes("123456789"), 0xE3069283u},
          {zeros, 0x8A9136AAu},
          {ones, 0x62A8AB43u},
          {up, 0x46DD794Eu},
          {down, 0x113FDB5Cu},
          {Bytes{}, 0x00000000u}};
}

TEST(Crc32c, KnownVectorsWithTheTable) {
  for (const auto& v : known_vectors()) EXPECT_EQ(~crc32c_table(0xFFFFFFFFu, v.input), v.crc) << v.input.size();
}

TEST(Crc32c, KnownVectorsWithSse42) {
  // The hosts pgdr is built for have SSE4.2; a host without it must not pass as having tested it.
  ASSERT_TRUE(crc32c_sse42_available()) << "this CPU lacks SSE4.2: the instruction path is untested here";
  for (const auto& v : known_vectors()) EXPECT_EQ(~crc32c_sse42(0xFFFFFFFFu, v.input), v.crc) << v.input.size();
}

TEST(Crc32c, KnownVectorsThroughTheChosenPath) {
  for (const auto& v : known_vectors()) EXPECT_EQ(crc32c(v.input), v.crc) << v.input.size();
}

TEST(Crc32c, BothPathsAgreeOnEveryLengthAndAlignment) {
  ASSERT_TRUE(crc32c_sse42_available());
  std::mt19937 rng(42);
  Bytes data(4096 + 16);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  for (std::size_t offset = 0; offset < 9; ++offset)
    for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 63u, 1000u, 4096u}) {
      ByteView in(data.data() + offset, len);
      EXPECT_EQ(crc32c_table(0x12345678u, in), crc32c_sse42(0x12345678u, in)) << offset << " " << len;
    }
}

TEST(Crc32c, PiecesGiveTheSameValueAsTheWhole) {
  const Bytes in = to_bytes("the body first, then the header, as PostgreSQL checksums a record");
  Crc32c c;
  c.update(ByteView(in).first(10));
  c.update(ByteView(in).subspan(10));
  EXPECT_EQ(c.value(), crc32c(in));
}

}  // namespace
}  // namespace pgdr::pg
