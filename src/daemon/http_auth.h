// The daemon's optional bearer token: read once at start from [daemon] auth_token_file or the
// variable named by auth_token_env, kept only as its SHA-256, and compared in constant time with
// what a request's Authorization header carries. Immutable after construction: any thread may
// call accepts() at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "daemon/daemon_config.h"
#include "io/sha256.h"

namespace pgdr::daemon {

class BearerToken {
 public:
  // The configured token, or nullopt when [daemon] names none. Throws Error(config) when the file
  // cannot be read or is open to group or others (see secret_file.h), when the variable is unset,
  // or when the token is empty or holds a space or a control character (it could never be sent).
  static std::optional<BearerToken> from_config(const DaemonConfig& config);

  // token: the secret itself, surrounding whitespace already removed.
  explicit BearerToken(std::string_view token);

  // True when authorization (the Authorization header's value, "" when absent) is
  // "Bearer <the token>" (the scheme in any case, as RFC 9110 says). The time it takes depends
  // neither on where a wrong token differs nor on its length: digests are compared, not texts.
  bool accepts(std::string_view authorization) const;

 private:
  io::Digest digest_{};
};

// What one request may see when [daemon] sets a token: everything; /health's status code alone (its
// reasons name hosts and errors, so they are for token holders); or nothing (401). Without a token
// configured, everything.
enum class Access { full, status_only, denied };
Access access_for(const BearerToken* token, bool health_auth, std::string_view path, std::string_view authorization);

// The token text of a secret file or variable: without the final newline and surrounding blanks.
// Throws Error(config) naming where ("[daemon] auth_token_file '/etc/pgdr/token'") when what is
// left is empty or contains a space or a control character.
std::string token_text(std::string_view raw, const std::string& where);

}  // namespace pgdr::daemon
