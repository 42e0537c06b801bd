#include "repo/block_codec.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/little_endian.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

constexpr std::size_t kHead = 6;  // codec, count, raw_length

// Runs f, reporting any error as Error(corrupt) "frame: <why>".
template <typename F>
auto as_frame_error(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt, std::string("frame: ") + e.what());
  }
}

}  // namespace

void frame_aad(FramePlace place, Bytes& out) {
  out.assign(kAadFrame.begin(), kAadFrame.end());
  out.insert(out.end(), place.pack_id.begin(), place.pack_id.end());
  put_u32le(out, place.offset);
}

BlockCodec::BlockCodec(const MasterKey& key, io::Codec codec, int level, int harder_below)
    : hmac_(key.id_key().view()), hmac_lanes_(key.id_key().view()), aead_(key.data_key().view()), compressor_(codec, level, io::Compressor::Tuning::pages) {
  if (codec == io::Codec::zstd && harder_below > 0 && level < kHarderLevel) {
    harder_.emplace(codec, kHarderLevel, io::Compressor::Tuning::pages_lazy);
    harder_below_ = static_cast<std::size_t>(harder_below);
  }
}

BlockId BlockCodec::id_of_digest(const io::Digest& digest) {
  const io::Digest mac = hmac_.of(digest);
  BlockId id;
  std::copy_n(mac.begin(), id.size(), id.begin());
  return id;
}

void BlockCodec::ids_of_digests(std::span<const io::Digest> digests, std::span<BlockId> ids) {
  if (ids.size() != digests.size()) throw Error(ErrorKind::internal, "block ids: id count differs from digest count");
  macs_.resize(digests.size());
  hmac_lanes_.of_digests(digests, macs_);
  for (std::size_t i = 0; i < ids.size(); ++i) std::copy_n(macs_[i].begin(), ids[i].size(), ids[i].begin());
}

void BlockCodec::seal_frame(std::size_t count, ByteView data, FramePlace place, Bytes& out) {
  if (count == 0 || count > kMaxFrameBlocks) throw Error(ErrorKind::internal, "frame of impossible size");
  plain_.clear();
  plain_.push_back(static_cast<std::uint8_t>(compressor_.codec()));
  plain_.push_back(static_cast<std::uint8_t>(count));
  put_u32le(plain_, static_cast<std::uint32_t>(data.size()));
  sealed_harder_ = next_harder_;
  io::Compressor& compressor = sealed_harder_ ? *harder_ : compressor_;
  const bool compressed = compressor.codec() != io::Codec::none && compressor.compress(data, plain_);
  // A frame that did not compress at all holds data no search would shrink (already compressed
  // values, say): the next one is not worth the harder search either.
  next_harder_ = harder_ && compressed && data.size() < harder_below_ * (plain_.size() - kHead);
  if (!compressed) {
    plain_.resize(kHead);
    plain_[0] = static_cast<std::uint8_t>(io::Codec::none);
    plain_.insert(plain_.end(), data.begin(), data.end());
  }
  frame_aad(place, aad_);
  aead_.seal(plain_, aad_, out);
}

BlockCodec::Opened BlockCodec::open_header(ByteView sealed, FramePlace place) {
  plain_.clear();
  frame_aad(place, aad_);
  aead_.open(sealed, aad_, plain_);
  if (plain_.size() < kHead) throw Error(ErrorKind::corrupt, "too short");
  auto codec = static_cast<io::Codec>(plain_[0]);
  FrameShape shape{plain_[1], get_u32le(plain_.data() + 2)};
  if (shape.count == 0 || shape.count > kMaxFrameBlocks) throw Error(ErrorKind::corrupt, "impossible block count");
  if (shape.raw_bytes > kMaxFrameBlocks * (1u << 20)) throw Error(ErrorKind::corrupt, "impossible length");
  ByteView payload(plain_.data() + kHead, plain_.size() - kHead);
  if (codec == io::Codec::none) {
    if (payload.size() != shape.raw_bytes) throw Error(ErrorKind::corrupt, "wrong length");
  } else if (codec != io::Codec::zstd && codec != io::Codec::lz4) {
    throw Error(ErrorKind::corrupt, "unknown codec " + std::to_string(plain_[0]));
  }
  return {codec, shape, payload};
}

FrameShape BlockCodec::open_frame(ByteView sealed, FramePlace place, Bytes& out) {
  return as_frame_error([&] {
    Opened f = open_header(sealed, place);
    decompressor_.decompress(f.codec, f.payload, f.shape.raw_bytes, out);
    return f.shape;
  });
}

FrameShape BlockCodec::open_frame_to(ByteView sealed, FramePlace place, Bytes& buf) {
  return as_frame_error([&] {
    Opened f = open_header(sealed, place);
    if (buf.size() < f.shape.raw_bytes) buf.resize(f.shape.raw_bytes);
    decompressor_.decompress_to(f.codec, f.payload, f.shape.raw_bytes, buf.data());
    return f.shape;
  });
}

FrameShape BlockCodec::authenticate_frame(ByteView sealed, FramePlace place) {
  return as_frame_error([&] { return open_header(sealed, place).shape; });
}

void BlockCodec::reseal_frame(ByteView sealed, FramePlace from, FramePlace to, Bytes& out) {
  as_frame_error([&] {
    open_header(sealed, from);
    frame_aad(to, aad_);
    aead_.seal(plain_, aad_, out);
  });
}

}  // namespace pgdr::repo
