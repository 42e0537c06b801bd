// Key derivation: scrypt to turn a passphrase into a key-encryption key, HKDF-SHA-256 to split a
// master key into purpose keys. Both on OpenSSL's EVP_KDF.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/bytes.h"

namespace pgdr::io {

struct ScryptParams {
  std::uint64_t n = 1u << 15;  // 32 MiB of memory with r = 8: costly to brute-force, ~0.1 s once
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

SecretBytes scrypt(std::string_view passphrase, ByteView salt, const ScryptParams& params, std::size_t out_bytes);

SecretBytes hkdf_sha256(ByteView input_key, ByteView salt, std::string_view info, std::size_t out_bytes);

// Cryptographically secure random bytes; throws Error(crypto) if the generator fails.
Bytes random_bytes(std::size_t n);

}  // namespace pgdr::io
