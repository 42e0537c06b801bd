// SHA-256 of several independent messages at once, for callers that have many of them (the
// blocks of a frame, the WAL objects verify reads). Each digest equals Sha256::of of its message.
//
// Why: one SHA-256 is a chain of dependent rounds, and with SHA-NI a single message is bound by
// the latency of SHA256RNDS2, not by its throughput. Hashing up to four messages in lockstep
// fills those idle slots: measured on the development machine (AMD Zen 5, 8 KiB messages),
// 2.0 GB/s for one message at a time (OpenSSL 3.0: 1.9 GB/s), 2.9 GB/s two at a time, 3.5 GB/s
// four at a time. Without SHA-NI (or off x86-64) every lane is an OpenSSL context instead, so
// results never depend on the CPU and speed is never worse than Sha256.
//
// A Sha256Lanes object belongs to one thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "io/sha256.h"

namespace pgdr::io {

// True when this CPU runs the lockstep kernels (x86-64 with SHA-NI, SSSE3 and SSE4.1).
bool sha256_lanes_accelerated();

// out[i] = SHA-256(messages[i]); out.size() must equal messages.size(), else Error(internal).
void sha256_many(std::span<const ByteView> messages, std::span<Digest> out);

// Streams: lanes independent messages fed piecewise, in rounds.
class Sha256Lanes {
 public:
  explicit Sha256Lanes(std::size_t lanes);
  ~Sha256Lanes();
  Sha256Lanes(Sha256Lanes&&) noexcept;
  Sha256Lanes& operator=(Sha256Lanes&&) noexcept;

  std::size_t lanes() const;
  // Appends data[i] to message i, for every i < data.size() (data.size() <= lanes(), else
  // Error(internal)); pieces may have any length, empty ones leave their lane as it is.
  void update(std::span<const ByteView> data);
  // The digest of message lane; that lane starts a new message.
  Digest finish(std::size_t lane);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA-256 of many 32-byte messages (digests) under one key, side by side: what names the
// blocks of a chunk. out[i] = HMAC(key, digests[i]); sizes must match, else Error(internal).
// Each HMAC of a digest is two compressions from the key's padded states, and one at a time they
// wait on SHA256RNDS2's latency as a lone message does.
class HmacSha256Lanes {
 public:
  explicit HmacSha256Lanes(ByteView key);
  ~HmacSha256Lanes();
  HmacSha256Lanes(HmacSha256Lanes&&) noexcept;
  HmacSha256Lanes& operator=(HmacSha256Lanes&&) noexcept;

  void of_digests(std::span<const Digest> digests, std::span<Digest> out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// Set by tests to run the OpenSSL path on a CPU with SHA-NI; read when a call or object starts.
extern std::atomic<bool> sha256_lanes_portable_only;
}  // namespace detail

}  // namespace pgdr::io
