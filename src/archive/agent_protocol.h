// The wire format between `pgdr archive-push`/`archive-get` and `pgdr archive-agent` over the
// agent's Unix socket. Each request and each reply is one message:
//
//   frame   = length:u32le payload                      length <= kMaxMessageBytes
//   payload = field*                                    at most kMaxFields fields
//   field   = key_length:u8 key value_length:u32le value   key 1..64 bytes of [a-z_]
//
// A field's key may repeat (one "problem" per repository). Segment contents never travel: the
// request names files both sides can read (same user, same host), so a message stays small and a
// limit far above any real one turns a bug or a hostile peer into a clean error, not an allocation.
// Everything here is stateless and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

namespace pgdr::archive {

inline constexpr std::uint32_t kMaxMessageBytes = 1u << 20;
inline constexpr std::size_t kMaxFields = 1024;
inline constexpr std::size_t kMaxKeyBytes = 64;

class AgentMessage {
 public:
  AgentMessage& add(std::string key, std::string value);
  // The first value under key, or nullopt.
  std::optional<std::string> get(const std::string& key) const;
  // The first value under key; throws Error(network) naming it when absent.
  std::string require(const std::string& key) const;
  std::vector<std::string> all(const std::string& key) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// The frame of message (length prefix included). Throws Error(internal) past the limits.
Bytes encode_message(const AgentMessage& message);
// Parses one payload (without its length prefix); throws Error(network) "malformed archive agent
// message: ..." for anything that breaks the format or its limits.
AgentMessage decode_payload(ByteView payload);

// A reply's "status" is "ok", "refused" ("reason": the client does the work itself) or "error"
// ("kind", "message", "hint": the client reports it as if the work had failed in its own process,
// byte for byte).
AgentMessage error_reply(const Error& error);
[[noreturn]] void throw_error_reply(const AgentMessage& reply);

// Blocking I/O of whole frames on a connected stream socket. read_message returns nullopt for an
// orderly end of stream before the first byte; a stream that ends inside a frame, an oversized
// length or a read error throws Error(network). Both retry on EINTR; write_message never raises
// SIGPIPE (MSG_NOSIGNAL) and throws Error(network) when the peer is gone.
std::optional<AgentMessage> read_message(int fd);
void write_message(int fd, const AgentMessage& message);

}  // namespace pgdr::archive
