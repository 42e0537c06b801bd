#include "io/sha256_lanes.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.h"

namespace pgdr::io {
namespace {

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

// Every test runs twice: on the lockstep kernels (where the CPU has them) and on OpenSSL.
class Sha256LanesTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { detail::sha256_lanes_portable_only = GetParam(); }
  void TearDown() override { detail::sha256_lanes_portable_only = false; }
};

TEST_P(Sha256LanesTest, KnownAnswers) {
  // FIPS 180-2 appendix B.1, B.2 and the empty message, side by side in one call.
  std::string b2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  std::vector<ByteView> msgs = {as_bytes("abc"), as_bytes(b2), ByteView()};
  std::vector<Digest> out(3);
  sha256_many(msgs, out);
  EXPECT_EQ(to_hex(out[0]), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(out[1]), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(to_hex(out[2]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_P(Sha256LanesTest, ManyMatchesOneAtATimeForEveryLengthMix) {
  std::mt19937_64 rng(42);
  // Lengths around the padding edges (55, 56, 63, 64, 119, 120) and the sizes verify meets
  // (8 KiB blocks, a shorter last block), in groups of 1 to 17 messages of mixed lengths.
  std::vector<std::size_t> lengths = {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 8191, 8192, 8193, 3 * 8192 + 17};
  for (std::size_t count = 1; count <= 17; ++count) {
    std::vector<Bytes> data;
    for (std::size_t i = 0; i < count; ++i) data.push_back(random_bytes(rng, lengths[(i * 7 + count) % lengths.size()]));
    std::vector<ByteView> views(data.begin(), data.end());
    std::vector<Digest> out(count);
    sha256_many(views, out);
    for (std::size_t i = 0; i < count; ++i)
      EXPECT_EQ(out[i], Sha256::of(data[i])) << "message " << i << " of " << count << ", " << data[i].size() << " bytes";
  }
  // All of equal length, the common case (a frame of 16 full blocks).
  std::vector<Bytes> data;
  for (int i = 0; i < 16; ++i) data.push_back(random_bytes(rng, 8192));
  std::vector<ByteView> views(data.begin(), data.end());
  std::vector<Digest> out(16);
  sha256_many(views, out);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(out[i], Sha256::of(data[i]));
  // Identical messages give identical digests; one changed byte changes only its own.
  data[5] = data[4];
  data[6] = data[4];
  data[6][100] ^= 1;
  views.assign(data.begin(), data.end());
  sha256_many(views, out);
  EXPECT_EQ(out[4], out[5]);
  EXPECT_NE(out[4], out[6]);
  EXPECT_EQ(out[6], Sha256::of(data[6]));
}

TEST_P(Sha256LanesTest, StreamingInUnevenPiecesMatchesOneShot) {
  std::mt19937_64 rng(7);
  const std::size_t lanes = 5;
  std::vector<Bytes> whole;
  for (std::size_t l = 0; l < lanes; ++l) whole.push_back(random_bytes(rng, 200000 + 4099 * l));
  Sha256Lanes h(lanes);
  ASSERT_EQ(h.lanes(), lanes);
  std::vector<std::size_t> at(lanes, 0);
  for (bool more = true; more;) {
    more = false;
    std::vector<ByteView> pieces(lanes);
    for (std::size_t l = 0; l < lanes; ++l) {
      // Pieces of 0 to ~9000 bytes, different per lane: partial blocks carry over between calls.
      std::size_t n = std::min<std::size_t>(rng() % 9000, whole[l].size() - at[l]);
      pieces[l] = ByteView(whole[l].data() + at[l], n);
      at[l] += n;
      if (at[l] < whole[l].size()) more = true;
    }
    h.update(pieces);
  }
  for (std::size_t l = 0; l < lanes; ++l) EXPECT_EQ(h.finish(l), Sha256::of(whole[l])) << "lane " << l;
  // finish() started new messages; fewer pieces than lanes leave the others alone.
  std::vector<ByteView> two = {as_bytes("ab"), as_bytes("")};
  h.update(two);
  std::vector<ByteView> one = {as_bytes("c")};
  h.update(one);
  EXPECT_EQ(to_hex(h.finish(0)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(h.finish(1), Sha256::of({}));
  EXPECT_EQ(h.finish(4), Sha256::of({}));
}

TEST_P(Sha256LanesTest, RejectsMisuse) {
  Sha256Lanes h(2);
  std::vector<ByteView> three(3);
  EXPECT_THROW(h.update(three), Error);
  EXPECT_THROW(h.finish(2), Error);
  std::vector<ByteView> msgs(2);
  std::vector<Digest> out(1);
  EXPECT_THROW(sha256_many(msgs, out), Error);
}

// OpenSSL's HMAC is the reference: keys around the block size (longer ones are hashed first) and
// counts that leave the last group of four lanes short.
TEST_P(Sha256LanesTest, HmacOfDigestsMatchesOpenSslForEveryKeyLengthAndCount) {
  std::mt19937_64 rng(7);
  for (std::size_t key_len : {0, 1, 32, 63, 64, 65, 131}) {
    Bytes key = random_bytes(rng, key_len);
    HmacSha256Lanes mac(key);
    for (std::size_t count : {0, 1, 3, 4, 5, 9}) {
      std::vector<Digest> digests(count);
      for (auto& d : digests)
        for (auto& x : d) x = static_cast<std::uint8_t>(rng());
      std::vector<Digest> out(count);
      mac.of_digests(digests, out);
      for (std::size_t i = 0; i < count; ++i) {
        Digest want{};
        unsigned int want_len = 0;
        const std::uint8_t none = 0;  // OpenSSL refuses a null key pointer, even of length 0
        ASSERT_NE(HMAC(EVP_sha256(), key.empty() ? &none : key.data(), static_cast<int>(key.size()), digests[i].data(),
                       digests[i].size(), want.data(), &want_len),
                  nullptr);
        EXPECT_EQ(to_hex(out[i]), to_hex(want)) << "key " << key_len << " bytes, digest " << i << " of " << count;
      }
    }
  }
  HmacSha256Lanes mac(as_bytes("key"));
  std::vector<Digest> two(2), one(1);
  EXPECT_THROW(mac.of_digests(two, one), Error);
}

INSTANTIATE_TEST_SUITE_P(Paths, Sha256LanesTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "OpenSsl" : "Lockstep"; });

TEST(Sha256Lanes, TheOpenSslPathCanBeForced) {
  detail::sha256_lanes_portable_only = true;
  EXPECT_FALSE(sha256_lanes_accelerated());
  detail::sha256_lanes_portable_only = false;
}

}  // namespace
}  // namespace pgdr::io
