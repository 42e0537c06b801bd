#include "io/compress.h"

#include <lz4.h>
// For ZSTD_c_useRowMatchFinder (experimental in 1.5): see Compressor::Compressor.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "core/error.h"

namespace pgdr::io {

namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* c) const noexcept { ZSTD_freeDCtx(c); }
};

[[noreturn]] void corrupt(std::string message) { throw Error(ErrorKind::corrupt, std::move(message)); }

void check_decoded_size(std::string_view codec, std::size_t got, std::size_t expected) {
  if (got != expected)
    corrupt(std::string(codec) + " data decodes to " + std::to_string(got) + " bytes, expected " +
            std::to_string(expected));
}

}  // namespace

std::string_view to_string(Codec c) {
  switch (c) {
    case Codec::none: return "none";
    case Codec::zstd: return "zstd";
    case Codec::lz4: return "lz4";
  }
  return "unknown";
}

std::optional<Codec> codec_from_string(std::string_view name) {
  for (Codec c : {Codec::none, Codec::zstd, Codec::lz4})
    if (to_string(c) == name) return c;
  return std::nullopt;
}

struct Compressor::Impl {
  Codec codec;
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> zstd;  // the level set on it
};

Compressor::Compressor(Codec codec, int level, Tuning tuning) : impl_(std::make_unique<Impl>(Impl{codec, nullptr})) {
  switch (codec) {
    case Codec::none:
    case Codec::lz4:
      return;
    case Codec::zstd:
      if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        throw Error(ErrorKind::config, "zstd compression level " + std::to_string(level) + " is out of range",
                    "use 1 (fast) to 19 (small), or a negative level for the fast modes");
      impl_->zstd.reset(ZSTD_createCCtx());
      if (!impl_->zstd) throw Error(ErrorKind::internal, "unable to allocate a zstd compression context");
      if (ZSTD_isError(ZSTD_CCtx_setParameter(impl_->zstd.get(), ZSTD_c_compressionLevel, level)))
        throw Error(ErrorKind::internal, "zstd refused compression level " + std::to_string(level));
      // From level 5 zstd searches matches with its row-based finder by default, whose tables are
      // set up again for every input: on PostgreSQL pages in frames of 128 KiB (as frames then
      // were), hash chains store the same bytes up to 1.7 times faster at level 6 (bench/README.md,
      // "Lazy matching"). A libzstd that does not know the parameter keeps its default: only speed
      // differs.
      ZSTD_CCtx_setParameter(impl_->zstd.get(), ZSTD_c_useRowMatchFinder, ZSTD_ps_disable);
      if (tuning == Tuning::pages_lazy) {
        constexpr int kFrameTableLog = 16;  // 64 Ki entries: one per 8 bytes of a 512 KiB frame
        constexpr int kSearchLog = 1;
        for (auto [param, value] : {std::pair{ZSTD_c_hashLog, kFrameTableLog}, std::pair{ZSTD_c_chainLog, kFrameTableLog},
                                    std::pair{ZSTD_c_searchLog, kSearchLog}})
          if (ZSTD_isError(ZSTD_CCtx_setParameter(impl_->zstd.get(), param, value)))
            throw Error(ErrorKind::internal, "zstd refused the match finder's settings for frames");
      }
      if (tuning == Tuning::pages || tuning == Tuning::pages_lazy) {
        constexpr unsigned kPageMinMatch = 5;
        constexpr unsigned long long kLargeInput = 512 * 1024;
        if (ZSTD_getCParams(level, kLargeInput, 0).minMatch > kPageMinMatch &&
            ZSTD_isError(ZSTD_CCtx_setParameter(impl_->zstd.get(), ZSTD_c_minMatch, kPageMinMatch)))
          throw Error(ErrorKind::internal, "zstd refused a minimum match length of 5");
      }
      return;
  }
  throw Error(ErrorKind::internal, "unknown compression codec " + std::to_string(static_cast<int>(codec)));
}

Compressor::~Compressor() = default;
Compressor::Compressor(Compressor&&) noexcept = default;
Compressor& Compressor::operator=(Compressor&&) noexcept = default;

Codec Compressor::codec() const { return impl_->codec; }

bool Compressor::compress(ByteView input, Bytes& out) {
  if (impl_->codec == Codec::none || input.size() < 2) return false;
  const std::size_t old_size = out.size();
  out.resize(old_size + input.size() - 1);
  auto written = compress_smaller_to(input, out.data() + old_size);
  out.resize(old_size + written.value_or(0));
  return written.has_value();
}

std::optional<std::size_t> Compressor::compress_smaller_to(ByteView input, std::uint8_t* dst) {
  // The capacity is one byte short of the input, so a result that would not be smaller fails
  // inside the codec ("destination too small") instead of being written and thrown away.
  if (input.size() < 2) return std::nullopt;
  return compress_to(input, dst, input.size() - 1);
}

std::optional<std::size_t> Compressor::compress_to(ByteView input, std::uint8_t* dst, std::size_t capacity) {
  if (impl_->codec == Codec::none || input.empty() || capacity == 0) return std::nullopt;
  if (impl_->codec == Codec::zstd) {
    std::size_t r = ZSTD_compress2(impl_->zstd.get(), dst, capacity, input.data(), input.size());
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) return std::nullopt;
      throw Error(ErrorKind::internal, std::string("zstd compression failed: ") + ZSTD_getErrorName(r));
    }
    return r;
  }
  // Past LZ4_MAX_INPUT_SIZE (about 2 GiB) lz4 cannot encode; storing the input as is stays correct.
  if (input.size() > LZ4_MAX_INPUT_SIZE) return std::nullopt;
  int r = LZ4_compress_fast(reinterpret_cast<const char*>(input.data()), reinterpret_cast<char*>(dst),
                            static_cast<int>(input.size()),
                            static_cast<int>(std::min<std::size_t>(capacity, LZ4_MAX_INPUT_SIZE)), 1);
  if (r <= 0) return std::nullopt;
  return static_cast<std::size_t>(r);
}

struct Decompressor::Impl {
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> zstd;  // made on first use: lz4-only readers never pay for it

  // The context to decode input with, once input looks like one zstd frame of original_bytes.
  ZSTD_DCtx* zstd_for(ByteView input, std::size_t original_bytes) {
    // An empty input would decode to nothing without complaint; the compressor never writes one.
    if (input.empty()) corrupt("zstd data is empty");
    unsigned long long declared = ZSTD_getFrameContentSize(input.data(), input.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR) corrupt("zstd data has no valid frame header");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN) check_decoded_size("zstd", declared, original_bytes);
    if (!zstd) {
      zstd.reset(ZSTD_createDCtx());
      if (!zstd) throw Error(ErrorKind::internal, "unable to allocate a zstd decompression context");
    }
    return zstd.get();
  }
};

Decompressor::Decompressor() : impl_(std::make_unique<Impl>()) {}
Decompressor::~Decompressor() = default;
Decompressor::Decompressor(Decompressor&&) noexcept = default;
Decompressor& Decompressor::operator=(Decompressor&&) noexcept = default;

void Decompressor::decompress(Codec codec, ByteView input, std::size_t original_bytes, Bytes& out) {
  const std::size_t old_size = out.size();
  out.resize(old_size + original_bytes);
  try {
    decompress_to(codec, input, original_bytes, out.data() + old_size);
  } catch (...) {
    out.resize(old_size);
    throw;
  }
}

void Decompressor::decompress_prefix_to(Codec codec, ByteView input, std::size_t original_bytes, std::size_t want,
                                        std::uint8_t* dst) {
  want = std::min(want, original_bytes);
  if (codec == Codec::none) {
    check_decoded_size("uncompressed", input.size(), original_bytes);
    if (want) std::memcpy(dst, input.data(), want);
    return;
  }
  if (codec != Codec::zstd) throw Error(ErrorKind::internal, "prefix decoding is for zstd or uncompressed data");
  ZSTD_DCtx* ctx = impl_->zstd_for(input, original_bytes);
  // Streaming with an output of exactly want bytes: zstd decodes block by block and stops once
  // the output is full, instead of decoding the whole frame.
  ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  ZSTD_outBuffer out{dst, want, 0};
  while (out.pos < want) {
    std::size_t r = ZSTD_decompressStream(ctx, &out, &in);
    if (ZSTD_isError(r)) corrupt(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(r));
    if (r == 0 && out.pos < want) check_decoded_size("zstd", out.pos, original_bytes);  // ended early
    if (r != 0 && in.pos == in.size && out.pos < want) corrupt("zstd data is truncated");
  }
}

void Decompressor::decompress_to(Codec codec, ByteView input, std::size_t original_bytes, std::uint8_t* dst) {
  switch (codec) {
    case Codec::none:
      check_decoded_size("uncompressed", input.size(), original_bytes);
      if (!input.empty()) std::memcpy(dst, input.data(), input.size());
      return;

    case Codec::zstd: {
      ZSTD_DCtx* ctx = impl_->zstd_for(input, original_bytes);
      std::size_t r = ZSTD_decompressDCtx(ctx, dst, original_bytes, input.data(), input.size());
      if (ZSTD_isError(r)) corrupt(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(r));
      if (r != original_bytes) check_decoded_size("zstd", r, original_bytes);
      return;
    }

    case Codec::lz4: {
      if (input.size() > LZ4_MAX_INPUT_SIZE || original_bytes > LZ4_MAX_INPUT_SIZE)
        corrupt("lz4 block of " + std::to_string(input.size()) + " bytes for " + std::to_string(original_bytes) +
                " is beyond what lz4 encodes");
      char spare;  // lz4 wants a destination pointer even when nothing is to be written
      char* to = original_bytes == 0 ? &spare : reinterpret_cast<char*>(dst);
      int r = LZ4_decompress_safe(reinterpret_cast<const char*>(input.data()), to, static_cast<int>(input.size()),
                                  static_cast<int>(original_bytes));
      if (r < 0) corrupt("lz4 data is corrupt");
      if (static_cast<std::size_t>(r) != original_bytes) check_decoded_size("lz4", static_cast<std::size_t>(r), original_bytes);
      return;
    }
  }
  corrupt("unknown compression codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace pgdr::io
