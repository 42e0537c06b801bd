#include "repo/block_codec.h"

#include <cstring>

#include "core/error.h"
#include "core/little_endian.h"
#include "repo/format.h"

namespace pgdr::repo {

BlockCodec::BlockCodec(const MasterKey& key, io::Codec codec, int level)
    : hmac_(key.id_key().view()), aead_(key.data_key().view()), compressor_(codec, level), aad_(to_bytes(kAadFrame)) {}

void BlockCodec::seal_frame(const std::vector<BlockId>& ids, ByteView data, Bytes& out) {
  if (ids.empty() || ids.size() > kMaxFrameBlocks) throw Error(ErrorKind::internal, "frame of impossible size");
  plain_.clear();
  plain_.push_back(static_cast<std::uint8_t>(compressor_.codec()));
  plain_.push_back(static_cast<std::uint8_t>(ids.size()));
  put_u32le(plain_, static_cast<std::uint32_t>(data.size()));
  for (const auto& id : ids) plain_.insert(plain_.end(), id.begin(), id.end());
  std::size_t header = plain_.size();
  if (compressor_.codec() == io::Codec::none || !compressor_.compress(data, plain_)) {
    plain_.resize(header);
    plain_[0] = static_cast<std::uint8_t>(io::Codec::none);
    plain_.insert(plain_.end(), data.begin(), data.end());
  }
  aead_.seal(plain_, aad_, out);
}

BlockCodec::Opened BlockCodec::open_header(ByteView sealed, std::vector<BlockId>& ids) {
  plain_.clear();
  aead_.open(sealed, aad_, plain_);
  constexpr std::size_t kHead = 6;
  if (plain_.size() < kHead) throw Error(ErrorKind::corrupt, "too short");
  auto codec = static_cast<io::Codec>(plain_[0]);
  std::size_t count = plain_[1];
  std::size_t raw_bytes = get_u32le(plain_.data() + 2);
  if (count == 0 || count > kMaxFrameBlocks || plain_.size() < kHead + 32 * count)
    throw Error(ErrorKind::corrupt, "impossible block count");
  if (raw_bytes > kMaxFrameBlocks * (1u << 20)) throw Error(ErrorKind::corrupt, "impossible length");
  ids.resize(count);
  for (std::size_t i = 0; i < count; ++i) std::memcpy(ids[i].data(), plain_.data() + kHead + 32 * i, 32);
  ByteView payload(plain_.data() + kHead + 32 * count, plain_.size() - kHead - 32 * count);
  if (codec == io::Codec::none) {
    if (payload.size() != raw_bytes) throw Error(ErrorKind::corrupt, "wrong length");
  } else if (codec != io::Codec::zstd && codec != io::Codec::lz4) {
    throw Error(ErrorKind::corrupt, "unknown codec " + std::to_string(plain_[0]));
  }
  return {codec, raw_bytes, payload};
}

void BlockCodec::open_frame(ByteView sealed, std::vector<BlockId>& ids, Bytes& out) {
  try {
    Opened f = open_header(sealed, ids);
    decompressor_.decompress(f.codec, f.payload, f.raw_bytes, out);
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt, std::string("frame: ") + e.what());
  }
}

std::size_t BlockCodec::open_frame_to(ByteView sealed, std::vector<BlockId>& ids, Bytes& buf) {
  try {
    Opened f = open_header(sealed, ids);
    if (buf.size() < f.raw_bytes) buf.resize(f.raw_bytes);
    decompressor_.decompress_to(f.codec, f.payload, f.raw_bytes, buf.data());
    return f.raw_bytes;
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt, std::string("frame: ") + e.what());
  }
}

std::size_t BlockCodec::authenticate_frame(ByteView sealed, std::vector<BlockId>& ids) {
  try {
    return open_header(sealed, ids).raw_bytes;
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt, std::string("frame: ") + e.what());
  }
}

}  // namespace pgdr::repo
