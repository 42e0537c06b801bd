// AES-256-GCM with 96-bit random nonces: sealed = nonce(12) || ciphertext || tag(16).
// One object per thread; the key is copied in and wiped on destruction.
#pragma once

#include <cstddef>
#include <memory>

#include "core/bytes.h"

namespace pgdr::io {

inline constexpr std::size_t kAeadKeyBytes = 32;
inline constexpr std::size_t kAeadNonceBytes = 12;
inline constexpr std::size_t kAeadTagBytes = 16;
inline constexpr std::size_t kAeadOverheadBytes = kAeadNonceBytes + kAeadTagBytes;

class Aead {
 public:
  explicit Aead(ByteView key);  // key must be kAeadKeyBytes long, else Error(internal)
  ~Aead();
  Aead(Aead&&) noexcept;
  Aead& operator=(Aead&&) noexcept;
  Aead clone() const;

  // Appends nonce || ciphertext || tag to out. aad is authenticated, not stored.
  void seal(ByteView plaintext, ByteView aad, Bytes& out);
  // Appends the plaintext to out. Throws Error(corrupt) "authentication failed" when the tag, the
  // aad or the key does not match (callers add which object failed).
  void open(ByteView sealed, ByteView aad, Bytes& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::io
