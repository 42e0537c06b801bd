#include "io/aead.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "io/kdf.h"

namespace pgdr::io {
namespace {

// Expects Error(corrupt) "authentication failed" and out left as it was.
void expect_auth_failure(Aead& aead, ByteView sealed, ByteView aad) {
  Bytes out = to_bytes("prefix");
  try {
    aead.open(sealed, aad, out);
    FAIL() << "open() accepted a damaged message";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_STREQ(e.what(), "authentication failed");
  }
  EXPECT_EQ(out, to_bytes("prefix"));
}

class AeadTest : public ::testing::Test {
 protected:
  Bytes key_ = random_bytes(kAeadKeyBytes);
  Bytes plaintext_ = random_bytes(10000);
  Bytes aad_ = to_bytes("pack 3fa2c1");
};

TEST_F(AeadTest, RoundTripAppends) {
  Aead aead(key_);
  Bytes sealed = to_bytes("hdr");
  aead.seal(plaintext_, aad_, sealed);
  ASSERT_EQ(sealed.size(), 3 + kAeadOverheadBytes + plaintext_.size());
  EXPECT_EQ(as_chars(ByteView(sealed).first(3)), "hdr");

  Bytes out = to_bytes("x");
  aead.open(ByteView(sealed).subspan(3), aad_, out);
  ASSERT_EQ(out.size(), 1 + plaintext_.size());
  EXPECT_EQ(out[0], 'x');
  EXPECT_TRUE(std::equal(out.begin() + 1, out.end(), plaintext_.begin()));
}

TEST_F(AeadTest, EmptyPlaintextAndAad) {
  Aead aead(key_);
  Bytes sealed;
  aead.seal({}, {}, sealed);
  EXPECT_EQ(sealed.size(), kAeadOverheadBytes);
  Bytes out;
  aead.open(sealed, {}, out);
  EXPECT_TRUE(out.empty());
  expect_auth_failure(aead, sealed, aad_);
}

TEST_F(AeadTest, NoncesAreFresh) {
  Aead aead(key_);
  Bytes a, b;
  aead.seal(plaintext_, aad_, a);
  aead.seal(plaintext_, aad_, b);
  EXPECT_NE(a, b);
  EXPECT_FALSE(std::equal(a.begin(), a.begin() + kAeadNonceBytes, b.begin()));
}

TEST_F(AeadTest, OpensKnownAnswer) {
  // McGrew and Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV).
  Aead aead(from_hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"));
  Bytes sealed = from_hex(
      "cafebabefacedbaddecaf888"
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  Bytes out;
  aead.open(sealed, from_hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"), out);
  EXPECT_EQ(to_hex(out),
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
}

TEST_F(AeadTest, DamageIsDetected) {
  Aead aead(key_);
  Bytes sealed;
  aead.seal(plaintext_, aad_, sealed);

  Bytes flipped_nonce = sealed;
  flipped_nonce[0] ^= 0x01;
  expect_auth_failure(aead, flipped_nonce, aad_);

  Bytes flipped_ciphertext = sealed;
  flipped_ciphertext[kAeadNonceBytes + 5000] ^= 0x80;
  expect_auth_failure(aead, flipped_ciphertext, aad_);

  Bytes flipped_tag = sealed;
  flipped_tag.back() ^= 0x01;
  expect_auth_failure(aead, flipped_tag, aad_);

  expect_auth_failure(aead, sealed, to_bytes("pack 3fa2c2"));
  expect_auth_failure(aead, sealed, {});

  Aead other(random_bytes(kAeadKeyBytes));
  expect_auth_failure(other, sealed, aad_);

  expect_auth_failure(aead, ByteView(sealed).first(sealed.size() - 1), aad_);
  expect_auth_failure(aead, ByteView(sealed).first(kAeadOverheadBytes - 1), aad_);
  expect_auth_failure(aead, {}, aad_);

  // A failure leaves the object usable.
  Bytes out;
  aead.open(sealed, aad_, out);
  EXPECT_EQ(out, plaintext_);
}

TEST_F(AeadTest, CloneAndMoveShareTheKey) {
  Aead aead(key_);
  Aead copy = aead.clone();
  Bytes sealed;
  copy.seal(plaintext_, aad_, sealed);
  Aead moved(std::move(aead));
  Bytes out;
  moved.open(sealed, aad_, out);
  EXPECT_EQ(out, plaintext_);
}

TEST(Aead, RejectsWrongKeySize) {
  try {
    Aead aead(Bytes(16, 0));
    FAIL() << "a 16-byte key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
  }
}

}  // namespace
}  // namespace pgdr::io
