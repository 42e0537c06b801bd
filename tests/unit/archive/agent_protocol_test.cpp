// The archive agent's framing: what is written is read back field for field, and every way a
// message can be broken or oversized is a clean Error(network), never a crash or a huge allocation.
#include "archive/agent_protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"

namespace pgdr::archive {
namespace {

struct Pair {
  int fd[2];
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
  ~Pair() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  void write_raw(const Bytes& b) { ASSERT_EQ(write(fd[0], b.data(), b.size()), static_cast<ssize_t>(b.size())); }
  void close_writer() {
    close(fd[0]);
    fd[0] = -1;
  }
};

std::string network_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::network) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

Bytes frame(Bytes payload) {
  Bytes out;
  const auto n = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

TEST(AgentProtocol, RoundTripKeepsOrderRepeatsAndBinaryValues) {
  AgentMessage m;
  std::string binary("a\0b\xff", 4);
  m.add("op", "push").add("problem", "one").add("problem", "two").add("value", binary).add("empty", "");
  Pair p;
  write_message(p.fd[0], m);
  auto got = read_message(p.fd[1]);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->fields(), m.fields());
  EXPECT_EQ(got->all("problem"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(got->get("value"), binary);
  EXPECT_EQ(got->get("missing"), std::nullopt);
  EXPECT_NE(network_error_of([&] { got->require("missing"); }).find("field 'missing' is missing"), std::string::npos);
}

TEST(AgentProtocol, EndOfStreamBetweenMessagesIsNoMessage) {
  Pair p;
  write_message(p.fd[0], AgentMessage().add("op", "get"));
  p.close_writer();
  EXPECT_TRUE(read_message(p.fd[1]));
  EXPECT_FALSE(read_message(p.fd[1]));
}

TEST(AgentProtocol, EndOfStreamInsideAMessageIsAnError) {
  Pair p;
  Bytes whole = encode_message(AgentMessage().add("op", "push").add("path", "/x"));
  whole.resize(whole.size() - 2);
  p.write_raw(whole);
  p.close_writer();
  EXPECT_NE(network_error_of([&] { read_message(p.fd[1]); }).find("closed in the middle of a message"),
            std::string::npos);
}

TEST(AgentProtocol, LengthOverTheLimitIsRefusedBeforeReading) {
  Pair p;
  p.write_raw({0xff, 0xff, 0xff, 0x7f});
  EXPECT_NE(network_error_of([&] { read_message(p.fd[1]); }).find("over the limit"), std::string::npos);
}

TEST(AgentProtocol, MalformedPayloadsAreCleanErrors) {
  // A key length of zero, a key running past the end, a bad key character, a value length past the end.
  for (const Bytes& payload : {Bytes{0}, Bytes{5, 'o', 'p'}, Bytes{2, 'O', 'P', 0, 0, 0, 0},
                               Bytes{2, 'o', 'p', 9, 0, 0, 0, 'x'}, Bytes{2, 'o', 'p', 0xff, 0xff, 0xff, 0xff}}) {
    Pair p;
    p.write_raw(frame(payload));
    EXPECT_NE(network_error_of([&] { read_message(p.fd[1]); }).find("malformed archive agent message"),
              std::string::npos);
  }
}

TEST(AgentProtocol, TooManyFieldsAreRefused) {
  Bytes payload;
  for (std::size_t i = 0; i <= kMaxFields; ++i) payload.insert(payload.end(), {1, 'k', 0, 0, 0, 0});
  EXPECT_NE(network_error_of([&] { decode_payload(payload); }).find("more than"), std::string::npos);
}

TEST(AgentProtocol, EncodingRefusesInvalidKeysAndOversizedMessages) {
  EXPECT_THROW(encode_message(AgentMessage().add("Bad-Key", "v")), Error);
  EXPECT_THROW(encode_message(AgentMessage().add("big", std::string(kMaxMessageBytes, 'x'))), Error);
}

TEST(AgentProtocol, ErrorRepliesCarryKindMessageAndHint) {
  const AgentMessage reply = error_reply(Error(ErrorKind::corrupt, "refusing to archive x", "a hint"));
  EXPECT_EQ(reply.get("status"), "error");
  try {
    throw_error_reply(decode_payload(ByteView(encode_message(reply)).subspan(4)));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_STREQ(e.what(), "refusing to archive x");
    EXPECT_EQ(e.hint(), "a hint");
  }
  AgentMessage unknown;
  unknown.add("status", "error").add("kind", "nonsense").add("message", "m");
  EXPECT_NE(network_error_of([&] { throw_error_reply(unknown); }).find("unknown error kind"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::archive
