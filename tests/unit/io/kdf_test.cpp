#include "io/kdf.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace pgdr::io {
namespace {

TEST(Scrypt, Rfc7914Vectors) {
  // RFC 7914 section 12, first and second vectors.
  SecretBytes empty = scrypt("", {}, ScryptParams{16, 1, 1}, 64);
  EXPECT_EQ(to_hex(empty.view()),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  SecretBytes nacl = scrypt("password", as_bytes("NaCl"), ScryptParams{1024, 8, 16}, 64);
  EXPECT_EQ(to_hex(nacl.view()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(Scrypt, RejectsBadParameters) {
  try {
    scrypt("passphrase", as_bytes("salt"), ScryptParams{1000, 1, 1}, 32);  // N must be a power of two
    FAIL() << "scrypt accepted N = 1000";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::crypto);
    EXPECT_EQ(std::string(e.what()).rfind("unable to derive a key with scrypt", 0), 0u) << e.what();
  }
}

TEST(Hkdf, Rfc5869Vectors) {
  // Test case 1: salt and info.
  SecretBytes tc1 = hkdf_sha256(Bytes(22, 0x0b), from_hex("000102030405060708090a0b0c"),
                                as_chars(from_hex("f0f1f2f3f4f5f6f7f8f9")), 42);
  EXPECT_EQ(to_hex(tc1.view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  // Test case 3: no salt, no info.
  SecretBytes tc3 = hkdf_sha256(Bytes(22, 0x0b), {}, "", 42);
  EXPECT_EQ(to_hex(tc3.view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, InfoSeparatesKeys) {
  Bytes master(32, 7);
  SecretBytes a = hkdf_sha256(master, {}, "pgdr data", 32);
  SecretBytes b = hkdf_sha256(master, {}, "pgdr index", 32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(to_hex(a.view()), to_hex(b.view()));
}

TEST(Hkdf, TooLongOutputIsACryptoError) {
  // RFC 5869 caps the output at 255 hash lengths.
  try {
    hkdf_sha256(Bytes(32, 7), {}, "x", 255 * 32 + 1);
    FAIL() << "hkdf produced more than 255 blocks";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::crypto);
  }
}

TEST(RandomBytes, SizesAndVariety) {
  EXPECT_TRUE(random_bytes(0).empty());
  Bytes a = random_bytes(32);
  Bytes b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace pgdr::io
