#include "daemon/http_auth.h"

#include <openssl/crypto.h>

#include <cstdlib>

#include "core/bytes.h"
#include "core/error.h"
#include "daemon/secret_file.h"

namespace pgdr::daemon {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The secret's text is wiped when it goes, like key material (core/bytes.h).
struct WipedString {
  std::string text;
  ~WipedString() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  }
};

}  // namespace

std::string token_text(std::string_view raw, const std::string& where) {
  while (!raw.empty() && is_blank(raw.front())) raw.remove_prefix(1);
  while (!raw.empty() && is_blank(raw.back())) raw.remove_suffix(1);
  if (raw.empty()) throw Error(ErrorKind::config, where + " holds no token");
  for (char c : raw)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      throw Error(ErrorKind::config, where + " holds a space or a control character: a token is one word",
                  "put the token alone on the first line, e.g. from: openssl rand -hex 32");
  return std::string(raw);
}

std::optional<BearerToken> BearerToken::from_config(const DaemonConfig& config) {
  if (!config.auth_token_file.empty()) {
    const std::string where = "[daemon] auth_token_file '" + config.auth_token_file + "'";
    WipedString raw{read_secret_file(config.auth_token_file, "[daemon] auth_token_file")};
    WipedString token{token_text(raw.text, where)};
    return BearerToken(token.text);
  }
  if (!config.auth_token_env.empty()) {
    const char* value = std::getenv(config.auth_token_env.c_str());
    if (value == nullptr)
      throw Error(ErrorKind::config, "[daemon] auth_token_env names " + config.auth_token_env + ", which is not set");
    WipedString token{token_text(value, "the variable " + config.auth_token_env + " of [daemon] auth_token_env")};
    return BearerToken(token.text);
  }
  return std::nullopt;
}

BearerToken::BearerToken(std::string_view token) : digest_(io::Sha256::of(as_bytes(token))) {}

bool BearerToken::accepts(std::string_view authorization) const {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if ((authorization[i] | 0x20) != kScheme[i]) return false;
  std::string_view rest = authorization.substr(kScheme.size());
  if (!is_blank(rest.front())) return false;
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && is_blank(rest.back())) rest.remove_suffix(1);
  const io::Digest offered = io::Sha256::of(as_bytes(rest));
  return CRYPTO_memcmp(offered.data(), digest_.data(), digest_.size()) == 0;
}

Access access_for(const BearerToken* token, bool health_auth, std::string_view path, std::string_view authorization) {
  if (token == nullptr || token->accepts(authorization)) return Access::full;
  if (path == "/health" && !health_auth) return Access::status_only;
  return Access::denied;
}

}  // namespace pgdr::daemon
