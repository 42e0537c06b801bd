#include "repo/block_codec.h"

#include "core/error.h"
#include "repo/format.h"

namespace pgdr::repo {

BlockCodec::BlockCodec(const MasterKey& key, io::Codec codec, int level)
    : hmac_(key.id_key().view()), aead_(key.data_key().view()), compressor_(codec, level) {
  aad_ = to_bytes(kAadBlock);
  aad_.resize(aad_.size() + 32);
}

void BlockCodec::seal(const BlockId& id, ByteView plaintext, Bytes& out) {
  plain_.clear();
  plain_.push_back(static_cast<std::uint8_t>(compressor_.codec()));
  if (compressor_.codec() == io::Codec::none || !compressor_.compress(plaintext, plain_)) {
    plain_[0] = static_cast<std::uint8_t>(io::Codec::none);
    plain_.insert(plain_.end(), plaintext.begin(), plaintext.end());
  }
  std::copy(id.begin(), id.end(), aad_.end() - 32);
  aead_.seal(plain_, aad_, out);
}

void BlockCodec::open(const BlockId& id, ByteView blob, std::size_t raw_bytes, Bytes& out) {
  std::copy(id.begin(), id.end(), aad_.end() - 32);
  plain_.clear();
  try {
    aead_.open(blob, aad_, plain_);
    if (plain_.empty()) throw Error(ErrorKind::corrupt, "empty block");
    auto codec = static_cast<io::Codec>(plain_[0]);
    ByteView payload(plain_.data() + 1, plain_.size() - 1);
    if (codec == io::Codec::none) {
      if (payload.size() != raw_bytes) throw Error(ErrorKind::corrupt, "wrong length");
      out.insert(out.end(), payload.begin(), payload.end());
    } else if (codec == io::Codec::zstd || codec == io::Codec::lz4) {
      decompressor_.decompress(codec, payload, raw_bytes, out);
    } else {
      throw Error(ErrorKind::corrupt, "unknown codec " + std::to_string(plain_[0]));
    }
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt, "block " + to_hex(ByteView(id.data(), 8)) + ": " + e.what());
  }
}

}  // namespace pgdr::repo
