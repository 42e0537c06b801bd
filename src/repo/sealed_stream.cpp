#include "repo/sealed_stream.h"

#include <cstring>

#include "core/error.h"
#include "core/little_endian.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kMagic = "PGDRSEAL";
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kFrameBytes = 1u << 20;
constexpr std::uint8_t kFlagLast = 1;
constexpr std::uint8_t kFlagZstd = 2;
// A frame never exceeds its plaintext plus flag and cipher overhead; anything larger is damage.
constexpr std::uint32_t kMaxSealedFrame = kFrameBytes + 64 + io::kAeadOverheadBytes;
// What one fetch asks for: an object store bills and waits per request, so it gets 4 MiB; a local
// file gets 1 MiB, which costs nothing more and keeps readers small (verify holds eight at once).
constexpr std::size_t kRemoteFetchBytes = 4u << 20;
constexpr std::size_t kLocalFetchBytes = 1u << 20;

Bytes frame_aad(const std::string& object, std::uint64_t index) {
  Bytes aad = to_bytes(std::string(kAadSealed) + object);
  put_u64le(aad, index);
  return aad;
}

}  // namespace

SealedWriter::SealedWriter(storage::Storage& store, std::string object, const MasterKey& key, int zstd_level)
    : object_(std::move(object)),
      out_(store.create(object_)),
      aead_(key.data_key().view()),
      compressor_(io::Codec::zstd, zstd_level) {
  Bytes header = to_bytes(kMagic);
  header.push_back(kVersion);
  out_->write(header);
}

SealedWriter::~SealedWriter() = default;

void SealedWriter::write(ByteView data) {
  plain_total_ += data.size();
  while (!data.empty()) {
    // A whole frame with more to follow is sealed straight from data: a 16 MiB WAL segment is not
    // copied through pending_. The frames are the same as through pending_.
    if (pending_.empty() && data.size() > kFrameBytes) {
      seal_frame(data.first(kFrameBytes), false);
      data = data.subspan(kFrameBytes);
      continue;
    }
    std::size_t take = std::min(data.size(), kFrameBytes - pending_.size());
    pending_.insert(pending_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    // Keep one full frame pending so that commit() can mark the true last frame.
    if (pending_.size() == kFrameBytes && !data.empty()) flush_frame(false);
  }
}

void SealedWriter::flush_frame(bool last) {
  seal_frame(pending_, last);
  pending_.clear();
}

void SealedWriter::seal_frame(ByteView chunk, bool last) {
  // plain_ only grows (one frame's worth): compressing into it does not zero-fill a megabyte per
  // frame. Its first five bytes are the flags and the plaintext length.
  constexpr std::size_t kHead = 5;
  if (plain_.size() < kHead + chunk.size()) plain_.resize(kHead + chunk.size());
  std::uint8_t flags = last ? kFlagLast : 0;
  std::size_t plain_len = 0;
  std::optional<std::size_t> packed = compressor_.compress_smaller_to(chunk, plain_.data() + kHead);
  if (packed) {
    flags |= kFlagZstd;
    // A compressed frame records its plaintext length so the decoder can check it exactly.
    set_u32le(plain_.data() + 1, static_cast<std::uint32_t>(chunk.size()));
    plain_len = kHead + *packed;
  } else {
    if (!chunk.empty()) std::memcpy(plain_.data() + 1, chunk.data(), chunk.size());
    plain_len = 1 + chunk.size();
  }
  plain_[0] = flags;
  frame_.clear();
  aead_.seal(ByteView(plain_.data(), plain_len), frame_aad(object_, frame_index_), frame_);
  Bytes length;
  put_u32le(length, static_cast<std::uint32_t>(frame_.size()));
  out_->write(length);
  out_->write(frame_);
  ++frame_index_;
}

void SealedWriter::commit() {
  flush_frame(true);
  out_->commit();
}

std::uint64_t SealedWriter::stored_bytes() const { return out_->size_bytes(); }

SealedReader::SealedReader(const storage::Storage& store, std::string object, const MasterKey& key)
    : store_(store),
      object_(std::move(object)),
      aead_(key.data_key().view()),
      fetch_bytes_(store.capabilities().local ? kLocalFetchBytes : kRemoteFetchBytes) {
  auto info = store_.stat(object_);
  if (!info) throw Error(ErrorKind::not_found, "missing object " + object_ + " in " + store_.describe());
  object_size_ = info->size_bytes;
  if (object_size_ < kMagic.size() + 1) corrupt("shorter than its header");
  fill_raw(kMagic.size() + 1);
  if (std::memcmp(raw_.data() + raw_pos_, kMagic.data(), kMagic.size()) != 0) corrupt("not a sealed object");
  std::uint8_t version = raw_[raw_pos_ + kMagic.size()];
  if (version != kVersion)
    corrupt("sealed object version " + std::to_string(version) + ", this pgdr reads version " + std::to_string(kVersion));
  raw_pos_ += kMagic.size() + 1;
}

void SealedReader::corrupt(const std::string& why) const {
  throw Error(ErrorKind::corrupt, "corrupt object " + object_ + " in " + store_.describe() + " (" + why + ")");
}

void SealedReader::fill_raw(std::size_t n) {
  if (raw_.size() - raw_pos_ >= n) return;
  raw_.erase(raw_.begin(), raw_.begin() + static_cast<std::ptrdiff_t>(raw_pos_));
  raw_pos_ = 0;
  std::uint64_t want = std::max<std::uint64_t>(n - raw_.size(), fetch_bytes_);
  want = std::min(want, object_size_ - raw_offset_);
  if (raw_.size() + want < n) corrupt("truncated at " + std::to_string(object_size_) + " bytes");
  // Reserved once, exactly: what is left of the previous fetch is less than one frame, so one fetch
  // and one frame always fit, and a growing vector would otherwise double past that.
  if (raw_.capacity() < raw_.size() + want)
    raw_.reserve(std::min<std::uint64_t>(object_size_, fetch_bytes_ + kMaxSealedFrame + 4));
  auto got = store_.read_range(object_, raw_offset_, want);
  if (!got) throw Error(ErrorKind::not_found, "object " + object_ + " vanished from " + store_.describe());
  raw_offset_ += got->size();
  raw_.insert(raw_.end(), got->begin(), got->end());
}

bool SealedReader::next_frame(bool decode) {
  if (last_seen_) return false;
  if (raw_offset_ == object_size_ && raw_pos_ == raw_.size()) corrupt("truncated: the last frame is missing");
  fill_raw(4);
  std::uint32_t len = get_u32le(raw_.data() + raw_pos_);
  raw_pos_ += 4;
  if (len < io::kAeadOverheadBytes + 1 || len > kMaxSealedFrame) corrupt("frame " + std::to_string(frame_index_) + " has an impossible length");
  fill_raw(len);
  Bytes& plain = opened_;
  plain.clear();
  try {
    aead_.open(ByteView(raw_.data() + raw_pos_, len), frame_aad(object_, frame_index_), plain);
  } catch (const Error&) {
    corrupt("frame " + std::to_string(frame_index_) + " fails authentication");
  }
  raw_pos_ += len;
  std::uint8_t flags = plain.at(0);
  stream_pos_ += plain_len_;
  plain_len_ = 0;
  plain_pos_ = 0;
  plain_decoded_ = 0;
  // plain_ only grows: decoding into it does not zero-fill a megabyte per frame.
  if (flags & kFlagZstd) {
    if (plain.size() < 5) corrupt("frame " + std::to_string(frame_index_) + " is too short");
    std::uint32_t original = get_u32le(plain.data() + 1);
    if (original > kFrameBytes) corrupt("frame " + std::to_string(frame_index_) + " claims an impossible size");
    // Under decode_only_head, only the part of this frame before the head's end.
    const std::size_t want = stream_pos_ >= head_bytes_ ? 0 : std::min<std::uint64_t>(original, head_bytes_ - stream_pos_);
    if (decode && want > 0) {
      if (plain_.size() < want) plain_.resize(want);
      ByteView payload(plain.data() + 5, plain.size() - 5);
      try {
        if (want == original)
          decompressor_.decompress_to(io::Codec::zstd, payload, original, plain_.data());
        else
          decompressor_.decompress_prefix_to(io::Codec::zstd, payload, original, want, plain_.data());
      } catch (const Error& e) {
        corrupt("frame " + std::to_string(frame_index_) + ": " + e.what());
      }
      plain_decoded_ = want;
    }
    plain_len_ = original;
  } else {
    plain_len_ = plain.size() - 1;
    if (decode) {
      if (plain_.size() < plain_len_) plain_.resize(plain_len_);
      if (plain_len_ > 0) std::memcpy(plain_.data(), plain.data() + 1, plain_len_);
      plain_decoded_ = plain_len_;
    }
  }
  ++frame_index_;
  if (flags & kFlagLast) {
    last_seen_ = true;
    if (raw_offset_ != object_size_ || raw_pos_ != raw_.size()) corrupt("bytes after the last frame");
  }
  return true;
}

void SealedReader::check_decoded(std::size_t n) const {
  if (plain_pos_ + n > plain_decoded_)
    throw Error(ErrorKind::internal, "object " + object_ + " read past the head it was to decode");
}

void SealedReader::decode_only_head(std::uint64_t head_bytes) { head_bytes_ = head_bytes; }

std::size_t SealedReader::read(Bytes& out, std::size_t max_bytes) {
  ByteView v = read_view(max_bytes);
  out.insert(out.end(), v.begin(), v.end());
  return v.size();
}

ByteView SealedReader::read_view(std::size_t max_bytes) {
  while (plain_pos_ == plain_len_) {
    if (!next_frame()) return {};
  }
  std::size_t n = std::min(max_bytes, plain_len_ - plain_pos_);
  check_decoded(n);
  ByteView v(plain_.data() + plain_pos_, n);
  plain_pos_ += n;
  return v;
}

void SealedReader::read_exact(std::uint8_t* dst, std::size_t n) {
  while (n > 0) {
    while (plain_pos_ == plain_len_) {
      if (!next_frame()) corrupt("ends early");
    }
    std::size_t take = std::min(n, plain_len_ - plain_pos_);
    check_decoded(take);
    std::memcpy(dst, plain_.data() + plain_pos_, take);
    plain_pos_ += take;
    dst += take;
    n -= take;
  }
}

bool SealedReader::at_end() {
  while (plain_pos_ == plain_len_) {
    if (!next_frame()) return true;
  }
  return false;
}

std::uint64_t SealedReader::authenticate_rest() {
  std::uint64_t skipped = plain_len_ - plain_pos_;
  plain_pos_ = plain_len_;
  while (next_frame(false)) {
    skipped += plain_len_;
    plain_pos_ = plain_len_;
  }
  return skipped;
}

void write_sealed_object(storage::Storage& store, const std::string& object, const MasterKey& key, ByteView data) {
  SealedWriter w(store, object, key);
  w.write(data);
  w.commit();
}

std::optional<Bytes> read_sealed_object(const storage::Storage& store, const std::string& object, const MasterKey& key) {
  if (!store.stat(object)) return std::nullopt;
  SealedReader r(store, object, key);
  Bytes out;
  while (r.read(out, 1u << 20) > 0) {
  }
  return out;
}

}  // namespace pgdr::repo
