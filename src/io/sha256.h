// SHA-256 and HMAC-SHA-256 on OpenSSL (SHA-NI where the CPU has it). Objects are reusable and
// cheap to reset; one object per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/bytes.h"

namespace pgdr::io {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(ByteView data);
  // Returns the digest and resets the object for a new message.
  Digest finish();

  static Digest of(ByteView data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA-256's two padded key blocks (RFC 2104): K0 ^ ipad and K0 ^ opad, where K0 is the key
// (hashed first when longer than a block) padded with zeros to the block size. Key-equivalent:
// wiped when destroyed, never copied.
struct HmacPads {
  explicit HmacPads(ByteView key);
  ~HmacPads();
  HmacPads(const HmacPads&) = delete;
  HmacPads& operator=(const HmacPads&) = delete;

  std::array<std::uint8_t, 64> inner{};
  std::array<std::uint8_t, 64> outer{};
};

// HMAC-SHA-256 under one key, computed many times (the key schedule is done once).
class HmacSha256 {
 public:
  explicit HmacSha256(ByteView key);
  ~HmacSha256();
  HmacSha256(HmacSha256&&) noexcept;
  HmacSha256& operator=(HmacSha256&&) noexcept;
  // A copy sharing no state, for use on another thread.
  HmacSha256 clone() const;

  Digest of(ByteView data);

 private:
  HmacSha256();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::io
