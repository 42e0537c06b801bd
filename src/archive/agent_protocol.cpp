#include "archive/agent_protocol.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/little_endian.h"

namespace pgdr::archive {

namespace {

[[noreturn]] void malformed(const std::string& why) {
  throw Error(ErrorKind::network, "malformed archive agent message: " + why);
}

bool valid_key(const std::string& key) {
  if (key.empty() || key.size() > kMaxKeyBytes) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

// Reads exactly n bytes; false when the stream ends before the first of them.
bool read_exactly(int fd, std::uint8_t* out, std::size_t n, bool eof_allowed) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t got = ::read(fd, out + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      throw Error(ErrorKind::network, "no reply from the archive agent within the socket's receive timeout");
    if (got < 0) throw Error(ErrorKind::network, "unable to read from the archive agent socket: " + errno_text(errno));
    if (got == 0) {
      if (done == 0 && eof_allowed) return false;
      throw Error(ErrorKind::network, "the archive agent connection closed in the middle of a message");
    }
    done += static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

AgentMessage& AgentMessage::add(std::string key, std::string value) {
  fields_.emplace_back(std::move(key), std::move(value));
  return *this;
}

std::optional<std::string> AgentMessage::get(const std::string& key) const {
  for (const auto& [k, v] : fields_)
    if (k == key) return v;
  return std::nullopt;
}

std::string AgentMessage::require(const std::string& key) const {
  auto v = get(key);
  if (!v) malformed("field '" + key + "' is missing");
  return *v;
}

std::vector<std::string> AgentMessage::all(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_)
    if (k == key) out.push_back(v);
  return out;
}

Bytes encode_message(const AgentMessage& message) {
  if (message.fields().size() > kMaxFields)
    throw Error(ErrorKind::internal, "archive agent message has too many fields");
  Bytes out(4, 0);
  for (const auto& [k, v] : message.fields()) {
    if (!valid_key(k)) throw Error(ErrorKind::internal, "invalid archive agent message key '" + k + "'");
    out.push_back(static_cast<std::uint8_t>(k.size()));
    out.insert(out.end(), k.begin(), k.end());
    put_u32le(out, static_cast<std::uint32_t>(v.size()));
    out.insert(out.end(), v.begin(), v.end());
    if (out.size() - 4 > kMaxMessageBytes) throw Error(ErrorKind::internal, "archive agent message too large");
  }
  const auto n = static_cast<std::uint32_t>(out.size() - 4);
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  return out;
}

AgentMessage decode_payload(ByteView payload) {
  if (payload.size() > kMaxMessageBytes) malformed("longer than " + std::to_string(kMaxMessageBytes) + " bytes");
  AgentMessage m;
  std::size_t at = 0;
  while (at < payload.size()) {
    if (m.fields().size() == kMaxFields) malformed("more than " + std::to_string(kMaxFields) + " fields");
    const std::size_t key_bytes = payload[at++];
    if (key_bytes == 0 || payload.size() - at < key_bytes + 4) malformed("truncated field at byte " + std::to_string(at - 1));
    std::string key(as_chars(payload.subspan(at, key_bytes)));
    if (!valid_key(key)) malformed("invalid key at byte " + std::to_string(at));
    at += key_bytes;
    const std::uint32_t value_bytes = get_u32le(payload.data() + at);
    at += 4;
    if (payload.size() - at < value_bytes) malformed("value of '" + key + "' runs past the end");
    m.add(std::move(key), std::string(as_chars(payload.subspan(at, value_bytes))));
    at += value_bytes;
  }
  return m;
}

AgentMessage error_reply(const Error& error) {
  AgentMessage m;
  m.add("status", "error").add("kind", std::string(to_string(error.kind()))).add("message", error.what());
  if (!error.hint().empty()) m.add("hint", error.hint());
  return m;
}

void throw_error_reply(const AgentMessage& reply) {
  const std::string kind = reply.require("kind");
  for (int k = 0; k <= static_cast<int>(ErrorKind::internal); ++k)
    if (to_string(static_cast<ErrorKind>(k)) == kind)
      throw Error(static_cast<ErrorKind>(k), reply.require("message"), reply.get("hint").value_or(""));
  malformed("unknown error kind '" + kind + "'");
}

std::optional<AgentMessage> read_message(int fd) {
  std::uint8_t len[4];
  if (!read_exactly(fd, len, 4, true)) return std::nullopt;
  const std::uint32_t n = get_u32le(len);
  if (n > kMaxMessageBytes) malformed("length " + std::to_string(n) + " is over the limit");
  Bytes payload(n);
  read_exactly(fd, payload.data(), n, false);
  return decode_payload(payload);
}

void write_message(int fd, const AgentMessage& message) {
  const Bytes frame = encode_message(message);
  std::size_t done = 0;
  while (done < frame.size()) {
    ssize_t sent = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) throw Error(ErrorKind::network, "unable to write to the archive agent socket: " + errno_text(errno));
    done += static_cast<std::size_t>(sent);
  }
}

}  // namespace pgdr::archive
