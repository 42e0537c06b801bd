#include "io/sha256.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace pgdr::io {
namespace {

std::string hex(const Digest& d) { return to_hex(d); }

TEST(Sha256, KnownAnswers) {
  // FIPS 180-2 appendix B.1 and the empty message.
  EXPECT_EQ(hex(Sha256::of(as_bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(Sha256::of({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, IncrementalMatchesOneShotAndResets) {
  const std::string msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // FIPS 180-2 B.2
  Sha256 h;
  for (std::size_t i = 0; i < msg.size(); i += 7) h.update(as_bytes(std::string_view(msg).substr(i, 7)));
  EXPECT_EQ(hex(h.finish()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // finish() starts a new message.
  h.update(as_bytes("abc"));
  EXPECT_EQ(h.finish(), Sha256::of(as_bytes("abc")));
  EXPECT_EQ(h.finish(), Sha256::of({}));
}

TEST(Sha256, MoveKeepsState) {
  Sha256 a;
  a.update(as_bytes("ab"));
  Sha256 b(std::move(a));
  b.update(as_bytes("c"));
  EXPECT_EQ(b.finish(), Sha256::of(as_bytes("abc")));
}

TEST(HmacSha256, Rfc4231) {
  // Test case 1: 20-byte key.
  HmacSha256 tc1(Bytes(20, 0x0b));
  EXPECT_EQ(hex(tc1.of(as_bytes("Hi There"))), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: key shorter than the output.
  HmacSha256 tc2(as_bytes("Jefe"));
  EXPECT_EQ(hex(tc2.of(as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: key longer than the block size, hashed first.
  HmacSha256 tc6(Bytes(131, 0xaa));
  EXPECT_EQ(hex(tc6.of(as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, RepeatedCallsAreIndependent) {
  HmacSha256 mac(as_bytes("Jefe"));
  Digest first = mac.of(as_bytes("what do ya want for nothing?"));
  mac.of(Bytes(8192, 0x42));
  EXPECT_EQ(mac.of(as_bytes("what do ya want for nothing?")), first);
  EXPECT_NE(mac.of(as_bytes("what do ya want for nothing!")), first);
}

TEST(HmacSha256, CloneWorksOnAnotherThread) {
  HmacSha256 mac(as_bytes("Jefe"));
  HmacSha256 copy = mac.clone();
  Digest from_thread;
  std::thread t([&] { from_thread = copy.of(as_bytes("what do ya want for nothing?")); });
  Digest here = mac.of(as_bytes("what do ya want for nothing?"));
  t.join();
  EXPECT_EQ(from_thread, here);
  EXPECT_EQ(hex(here), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, DifferentKeysDiffer) {
  HmacSha256 a(Bytes(32, 1));
  HmacSha256 b(Bytes(32, 2));
  EXPECT_NE(a.of(as_bytes("block")), b.of(as_bytes("block")));
}

}  // namespace
}  // namespace pgdr::io
