#include "io/sha256_lanes.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <optional>

#include "core/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PGDR_SHA256_LANES_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace pgdr::io {

namespace detail {
// Tests run the OpenSSL path on machines with SHA-NI too.
std::atomic<bool> sha256_lanes_portable_only{false};
}  // namespace detail

namespace {

constexpr std::size_t kBlockBytes = 64;
constexpr std::size_t kMaxKernelLanes = 4;  // more lanes measured no faster (registers run out)

// FIPS 180-4 section 5.3.3.
constexpr std::uint32_t kInitial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

struct LaneState {
  std::uint32_t h[8];
  std::uint8_t buf[kBlockBytes];
  std::size_t buf_len;
  std::uint64_t total_bytes;

  void reset() {
    std::memcpy(h, kInitial, sizeof h);
    buf_len = 0;
    total_bytes = 0;
  }
};

#ifdef PGDR_SHA256_LANES_X86

// FIPS 180-4 section 4.2.2.
alignas(16) constexpr std::uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

bool cpu_has_sha_ni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  if (!(c & bit_SSSE3) || !(c & bit_SSE4_1)) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (b & bit_SHA) != 0;
}

// Compresses blocks 64-byte blocks of data[l] into state[l] for each of the L lanes, the lanes'
// rounds interleaved. The SHA-NI sequence (state kept as ABEF/CDGH, four rounds per message
// word group, SHA256MSG1/MSG2 for the schedule) follows Intel's "Intel SHA Extensions" paper
// (2013), figure 3.
template <int L>
__attribute__((target("sha,ssse3,sse4.1"))) void compress_lanes(LaneState* const* state,
                                                                const std::uint8_t* const* data,
                                                                std::size_t blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i abef[L], cdgh[L];
  const std::uint8_t* in[L];
#pragma GCC unroll 4
  for (int l = 0; l < L; ++l) {
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[l]->h[0])), 0xB1);
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[l]->h[4])), 0x1B);
    abef[l] = _mm_alignr_epi8(dcba, efgh, 8);
    cdgh[l] = _mm_blend_epi16(efgh, dcba, 0xF0);
    in[l] = data[l];
  }
  while (blocks-- > 0) {
    __m128i saved_abef[L], saved_cdgh[L], w[L][4];
#pragma GCC unroll 4
    for (int l = 0; l < L; ++l) {
      saved_abef[l] = abef[l];
      saved_cdgh[l] = cdgh[l];
      for (int i = 0; i < 4; ++i)
        w[l][i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in[l] + 16 * i)), byte_swap);
    }
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r) {
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(&kRound[4 * r]));
      __m128i msg[L];
#pragma GCC unroll 4
      for (int l = 0; l < L; ++l) {
        msg[l] = _mm_add_epi32(w[l][r & 3], k);
        cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], msg[l]);
      }
      if (r < 12) {
        // W[r+4] from W[r], W[r+1], W[r+2], W[r+3] (four words each).
#pragma GCC unroll 4
        for (int l = 0; l < L; ++l) {
          __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(w[l][r & 3], w[l][(r + 1) & 3]),
                                    _mm_alignr_epi8(w[l][(r + 3) & 3], w[l][(r + 2) & 3], 4));
          w[l][r & 3] = _mm_sha256msg2_epu32(t, w[l][(r + 3) & 3]);
        }
      }
#pragma GCC unroll 4
      for (int l = 0; l < L; ++l) abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(msg[l], 0x0E));
    }
#pragma GCC unroll 4
    for (int l = 0; l < L; ++l) {
      abef[l] = _mm_add_epi32(abef[l], saved_abef[l]);
      cdgh[l] = _mm_add_epi32(cdgh[l], saved_cdgh[l]);
      in[l] += kBlockBytes;
    }
  }
#pragma GCC unroll 4
  for (int l = 0; l < L; ++l) {
    __m128i feba = _mm_shuffle_epi32(abef[l], 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh[l], 0xB1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[l]->h[0]), _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[l]->h[4]), _mm_alignr_epi8(dchg, feba, 8));
  }
}

void compress(LaneState* const* state, const std::uint8_t* const* data, std::size_t lanes, std::size_t blocks) {
  switch (lanes) {
    case 1: return compress_lanes<1>(state, data, blocks);
    case 2: return compress_lanes<2>(state, data, blocks);
    case 3: return compress_lanes<3>(state, data, blocks);
    case 4: return compress_lanes<4>(state, data, blocks);
  }
  throw Error(ErrorKind::internal, "sha-256 kernel for " + std::to_string(lanes) + " lanes");
}

bool accelerated() {
  static const bool has = cpu_has_sha_ni();
  return has && !detail::sha256_lanes_portable_only.load(std::memory_order_relaxed);
}

#else

bool accelerated() { return false; }
void compress(LaneState* const*, const std::uint8_t* const*, std::size_t, std::size_t) {
  throw Error(ErrorKind::internal, "sha-256 lanes are not built for this CPU");
}

#endif

void compress_one(LaneState& s, const std::uint8_t* data, std::size_t blocks) {
  LaneState* st = &s;
  compress(&st, &data, 1, blocks);
}

// Appends data to the lanes' messages: each lane's buffered partial block first, then the full
// blocks of all lanes in lockstep (groups of up to four lanes, as many blocks as the shortest of
// the group has), then the tails into the buffers.
void update_states(LaneState* states, std::span<const ByteView> data) {
  const std::size_t n = data.size();
  // Small fixed arrays would cap the lane count; lanes are few (a frame holds at most 64 blocks).
  std::vector<const std::uint8_t*> pos(n);
  std::vector<std::size_t> left(n);
  for (std::size_t i = 0; i < n; ++i) {
    LaneState& s = states[i];
    const std::uint8_t* p = data[i].data();
    std::size_t len = data[i].size();
    s.total_bytes += len;
    if (s.buf_len > 0 && len > 0) {
      std::size_t take = std::min(len, kBlockBytes - s.buf_len);
      std::memcpy(s.buf + s.buf_len, p, take);
      s.buf_len += take;
      p += take;
      len -= take;
      if (s.buf_len == kBlockBytes) {
        compress_one(s, s.buf, 1);
        s.buf_len = 0;
      }
    }
    pos[i] = p;
    left[i] = len;
  }
  std::vector<std::size_t> active;
  active.reserve(n);
  for (;;) {
    active.clear();
    for (std::size_t i = 0; i < n; ++i)
      if (left[i] >= kBlockBytes) active.push_back(i);
    if (active.empty()) break;
    // Equal block counts side by side, so a group's lanes run out together.
    std::stable_sort(active.begin(), active.end(), [&](std::size_t a, std::size_t b) { return left[a] / kBlockBytes < left[b] / kBlockBytes; });
    for (std::size_t g = 0; g < active.size(); g += kMaxKernelLanes) {
      std::size_t lanes = std::min(kMaxKernelLanes, active.size() - g);
      std::array<LaneState*, kMaxKernelLanes> st{};
      std::array<const std::uint8_t*, kMaxKernelLanes> in{};
      std::size_t blocks = SIZE_MAX;
      for (std::size_t l = 0; l < lanes; ++l) blocks = std::min(blocks, left[active[g + l]] / kBlockBytes);
      for (std::size_t l = 0; l < lanes; ++l) {
        st[l] = &states[active[g + l]];
        in[l] = pos[active[g + l]];
      }
      compress(st.data(), in.data(), lanes, blocks);
      for (std::size_t l = 0; l < lanes; ++l) {
        pos[active[g + l]] += blocks * kBlockBytes;
        left[active[g + l]] -= blocks * kBlockBytes;
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (left[i] == 0) continue;
    std::memcpy(states[i].buf + states[i].buf_len, pos[i], left[i]);
    states[i].buf_len += left[i];
  }
}

void state_digest(const LaneState& s, Digest& d) {
  for (int i = 0; i < 8; ++i) {
    d[4 * i] = static_cast<std::uint8_t>(s.h[i] >> 24);
    d[4 * i + 1] = static_cast<std::uint8_t>(s.h[i] >> 16);
    d[4 * i + 2] = static_cast<std::uint8_t>(s.h[i] >> 8);
    d[4 * i + 3] = static_cast<std::uint8_t>(s.h[i]);
  }
}

// FIPS 180-4 section 5.1.1: 0x80, zeros, the length in bits as a 64-bit big-endian number.
Digest finish_state(LaneState& s) {
  std::uint8_t tail[2 * kBlockBytes] = {};
  std::memcpy(tail, s.buf, s.buf_len);
  tail[s.buf_len] = 0x80;
  std::size_t blocks = s.buf_len + 1 + 8 <= kBlockBytes ? 1 : 2;
  std::uint64_t bits = s.total_bytes * 8;
  for (int i = 0; i < 8; ++i) tail[blocks * kBlockBytes - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  compress_one(s, tail, blocks);
  Digest d;
  state_digest(s, d);
  s.reset();
  return d;
}

// A digest as the one block SHA-256 pads it to after a 64-byte prefix: the digest, 0x80, zeros,
// and the length of prefix and digest in bits (96 bytes).
void pad_digest_after_block(const Digest& d, std::uint8_t* block) {
  std::memcpy(block, d.data(), d.size());
  std::memset(block + d.size(), 0, kBlockBytes - d.size());
  block[d.size()] = 0x80;
  constexpr std::uint64_t bits = (kBlockBytes + sizeof(Digest)) * 8;
  for (int i = 0; i < 8; ++i) block[kBlockBytes - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
}

}  // namespace

bool sha256_lanes_accelerated() { return accelerated(); }

void sha256_many(std::span<const ByteView> messages, std::span<Digest> out) {
  if (out.size() != messages.size()) throw Error(ErrorKind::internal, "sha256_many: digest count differs from message count");
  if (!accelerated()) {
    for (std::size_t i = 0; i < messages.size(); ++i) out[i] = Sha256::of(messages[i]);
    return;
  }
  std::vector<LaneState> states(messages.size());
  for (auto& s : states) s.reset();
  update_states(states.data(), messages);
  for (std::size_t i = 0; i < messages.size(); ++i) out[i] = finish_state(states[i]);
}

// RFC 2104 with the key's two padded blocks hashed once. Where the CPU has no SHA-NI every HMAC is
// HmacSha256's (OpenSSL).
struct HmacSha256Lanes::Impl {
  bool fast = accelerated();
  LaneState inner{};  // fast: the states after K0 ^ ipad and K0 ^ opad
  LaneState outer{};
  std::optional<HmacSha256> portable;

  ~Impl() {
    explicit_bzero(inner.h, sizeof inner.h);
    explicit_bzero(outer.h, sizeof outer.h);
  }
};

HmacSha256Lanes::HmacSha256Lanes(ByteView key) : impl_(std::make_unique<Impl>()) {
  if (!impl_->fast) {
    impl_->portable.emplace(key);
    return;
  }
  const HmacPads pads(key);
  impl_->inner.reset();
  compress_one(impl_->inner, pads.inner.data(), 1);
  impl_->outer.reset();
  compress_one(impl_->outer, pads.outer.data(), 1);
}

HmacSha256Lanes::~HmacSha256Lanes() = default;
HmacSha256Lanes::HmacSha256Lanes(HmacSha256Lanes&&) noexcept = default;
HmacSha256Lanes& HmacSha256Lanes::operator=(HmacSha256Lanes&&) noexcept = default;

void HmacSha256Lanes::of_digests(std::span<const Digest> digests, std::span<Digest> out) {
  if (out.size() != digests.size()) throw Error(ErrorKind::internal, "hmac lanes: digest count differs from message count");
  if (!impl_->fast) {
    for (std::size_t i = 0; i < digests.size(); ++i) out[i] = impl_->portable->of(digests[i]);
    return;
  }
  std::array<LaneState, kMaxKernelLanes> st;
  std::array<LaneState*, kMaxKernelLanes> sp;
  alignas(16) std::uint8_t blocks[kMaxKernelLanes][kBlockBytes];
  std::array<const std::uint8_t*, kMaxKernelLanes> in;
  for (std::size_t g = 0; g < digests.size(); g += kMaxKernelLanes) {
    const std::size_t lanes = std::min(kMaxKernelLanes, digests.size() - g);
    for (std::size_t l = 0; l < lanes; ++l) {
      st[l] = impl_->inner;
      sp[l] = &st[l];
      pad_digest_after_block(digests[g + l], blocks[l]);
      in[l] = blocks[l];
    }
    compress(sp.data(), in.data(), lanes, 1);
    for (std::size_t l = 0; l < lanes; ++l) {
      Digest inner_digest;
      state_digest(st[l], inner_digest);
      st[l] = impl_->outer;
      pad_digest_after_block(inner_digest, blocks[l]);
    }
    compress(sp.data(), in.data(), lanes, 1);
    for (std::size_t l = 0; l < lanes; ++l) state_digest(st[l], out[g + l]);
  }
  for (auto& s : st) explicit_bzero(s.h, sizeof s.h);
}

struct Sha256Lanes::Impl {
  bool fast = accelerated();
  std::vector<LaneState> states;  // fast
  std::vector<Sha256> portable;   // otherwise
};

Sha256Lanes::Sha256Lanes(std::size_t lanes) : impl_(std::make_unique<Impl>()) {
  if (impl_->fast) {
    impl_->states.resize(lanes);
    for (auto& s : impl_->states) s.reset();
  } else {
    impl_->portable.resize(lanes);
  }
}

Sha256Lanes::~Sha256Lanes() = default;
Sha256Lanes::Sha256Lanes(Sha256Lanes&&) noexcept = default;
Sha256Lanes& Sha256Lanes::operator=(Sha256Lanes&&) noexcept = default;

std::size_t Sha256Lanes::lanes() const { return impl_->fast ? impl_->states.size() : impl_->portable.size(); }

void Sha256Lanes::update(std::span<const ByteView> data) {
  if (data.size() > lanes()) throw Error(ErrorKind::internal, "sha-256 lanes: more pieces than lanes");
  if (impl_->fast) return update_states(impl_->states.data(), data);
  for (std::size_t i = 0; i < data.size(); ++i) impl_->portable[i].update(data[i]);
}

Digest Sha256Lanes::finish(std::size_t lane) {
  if (lane >= lanes()) throw Error(ErrorKind::internal, "sha-256 lanes: no lane " + std::to_string(lane));
  return impl_->fast ? finish_state(impl_->states[lane]) : impl_->portable[lane].finish();
}

}  // namespace pgdr::io
