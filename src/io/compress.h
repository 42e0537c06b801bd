// Block compression: zstd (default) or lz4, or none. Contexts are reused; one object per thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "core/bytes.h"

namespace pgdr::io {

enum class Codec : std::uint8_t { none = 0, zstd = 1, lz4 = 2 };

std::string_view to_string(Codec c);
// "none", "zstd", "lz4"; nullopt otherwise.
std::optional<Codec> codec_from_string(std::string_view name);

class Compressor {
 public:
  // zstd picks its match finder's settings by level and by the input's size. For inputs above
  // 256 KiB its fast levels (2 and below) look for matches of at least 6 bytes, where for inputs
  // up to 128 KiB they look for 5. On PostgreSQL pages (the realistic data set) in frames of
  // 512 KiB, 5 stores 3 % less at level 2, 5 % at level 1 and 8 % at level -1, at the same speed
  // (bench/README.md, "Frames of 64 blocks"). `pages` asks for 5 wherever the level would ask for
  // more; other settings are the level's own. `pages_lazy` (for level 6, lazy matching) sizes the
  // match finder's tables for one frame instead of the level's whole window and tries two
  // candidates per position instead of eight: zstd sets its tables up for every input, so every
  // frame paid for tables sized for more than it holds. On the realistic data set it stores
  // 1.4 % more than the level's own settings in three quarters of the time (bench/README.md,
  // "Harder where it pays").
  enum class Tuning { zstd_defaults, pages, pages_lazy };

  // level: zstd 1..19 (negative for the fast modes), lz4 ignored (fast mode).
  Compressor(Codec codec, int level, Tuning tuning = Tuning::zstd_defaults);
  ~Compressor();
  Compressor(Compressor&&) noexcept;
  Compressor& operator=(Compressor&&) noexcept;

  Codec codec() const;
  // Appends the compressed form of input to out; returns false (out unchanged) when the result
  // would not be smaller than input, so the caller stores the input as is.
  bool compress(ByteView input, Bytes& out);
  // The same into dst, which has room for input.size() - 1 bytes: the compressed size, or nullopt
  // when the result would not be smaller than input. A writer that reuses one buffer does not
  // pay for zero-filling it on every call.
  std::optional<std::size_t> compress_smaller_to(ByteView input, std::uint8_t* dst);

 private:
  // Into dst, which has room for capacity bytes: the compressed size, or nullopt when the result
  // would not fit.
  std::optional<std::size_t> compress_to(ByteView input, std::uint8_t* dst, std::size_t capacity);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(Decompressor&&) noexcept;
  Decompressor& operator=(Decompressor&&) noexcept;

  // Appends exactly original_bytes of output to out. Throws Error(corrupt) if input is not a valid
  // stream of that codec or does not decode to exactly original_bytes.
  void decompress(Codec codec, ByteView input, std::size_t original_bytes, Bytes& out);
  // The same into dst, which has room for original_bytes: a reader that reuses one buffer does
  // not pay for zero-filling it on every call. On error dst's content is unspecified.
  void decompress_to(Codec codec, ByteView input, std::size_t original_bytes, std::uint8_t* dst);
  // Only the first min(want, original_bytes) bytes of input's output into dst (which has room for
  // them), decoding little more than that: for a reader that needs the head of a frame, not all
  // of it. Throws Error(corrupt) when input does not decode that far; what comes after is not
  // checked. zstd and none only (else Error(internal)).
  void decompress_prefix_to(Codec codec, ByteView input, std::size_t original_bytes, std::size_t want,
                            std::uint8_t* dst);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::io
