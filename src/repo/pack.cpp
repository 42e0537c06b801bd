#include "repo/pack.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/little_endian.h"
#include "io/kdf.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kPackMagic = "PGDRPACK";
constexpr std::size_t kTailBytes = 16;
constexpr std::size_t kBlockSizeBytes = 4;    // the trailer's first field
constexpr std::size_t kFrameEntryBytes = 13;  // offset, length, count, raw_length; then the ids
constexpr std::uint32_t kMaxBlockBytes = 1u << 20;

Bytes trailer_aad(const std::string& pack_id) { return to_bytes(std::string(kAadPackTrailer) + pack_id); }

// What a pack's last kTailBytes say; nullopt when they do not end with the magic.
struct Tail {
  std::uint32_t trailer_length = 0;
  std::uint32_t version = 0;
};
std::optional<Tail> parse_tail(ByteView tail) {
  if (tail.size() != kTailBytes || std::memcmp(tail.data() + 8, kPackMagic.data(), kPackMagic.size()) != 0)
    return std::nullopt;
  return Tail{get_u32le(tail.data()), get_u32le(tail.data() + 4)};
}

}  // namespace

CorruptPack::CorruptPack(const std::string& pack_id, const std::string& where, std::string detail)
    : Error(ErrorKind::corrupt, "corrupt pack " + pack_object(pack_id) + " in " + where + " (" + detail + ")"),
      object_(pack_object(pack_id)),
      detail_(std::move(detail)) {}

std::string new_pack_id() { return to_hex(io::random_bytes(16)); }

std::uint64_t pack_overhead_bound(std::size_t frames) {
  constexpr std::uint64_t kAeadBytes = 12 + 16;  // nonce and tag of the sealed trailer
  return kTailBytes + kAeadBytes + kBlockSizeBytes +
         static_cast<std::uint64_t>(frames) * (kFrameEntryBytes + kMaxFrameBlocks * kBlockIdBytes);
}

PackWriter::PackWriter(storage::Storage& store, const MasterKey& key, std::string pack_id, std::uint32_t block_bytes)
    : store_(store), pack_id_(std::move(pack_id)), block_bytes_(block_bytes), aead_(key.data_key().view()) {}

std::vector<PackEntry> PackWriter::add_frame(BlockCodec& codec, const std::vector<BlockId>& ids, ByteView data) {
  auto offset = static_cast<std::uint32_t>(size_);
  scratch_.clear();
  codec.seal_frame(ids.size(), data, FramePlace{pack_id_, offset}, scratch_);
  auto length = static_cast<std::uint32_t>(scratch_.size());
  append(scratch_);
  std::vector<PackEntry> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    out[i].id = ids[i];
    out[i].offset = offset;
    out[i].length = length;
    out[i].index = static_cast<std::uint16_t>(i);
    std::size_t start = i * block_bytes_;
    out[i].raw_length = static_cast<std::uint32_t>(std::min<std::size_t>(block_bytes_, data.size() - start));
    entries_.push_back(out[i]);
  }
  return out;
}

std::uint32_t PackWriter::copy_frame(BlockCodec& codec, ByteView sealed, std::string_view from_pack,
                                     const std::vector<PackEntry>& blocks) {
  if (blocks.empty()) throw Error(ErrorKind::internal, "copy of a frame without its blocks");
  for (std::size_t i = 0; i < blocks.size(); ++i)
    if (blocks[i].index != i) throw Error(ErrorKind::internal, "copy of a frame without all its blocks in order");
  auto offset = static_cast<std::uint32_t>(size_);
  scratch_.clear();
  codec.reseal_frame(sealed, FramePlace{from_pack, blocks.front().offset}, FramePlace{pack_id_, offset}, scratch_);
  append(scratch_);
  for (PackEntry e : blocks) {
    e.offset = offset;
    e.length = static_cast<std::uint32_t>(scratch_.size());
    entries_.push_back(e);
  }
  return offset;
}

void PackWriter::append(ByteView bytes) {
  if (!out_) out_ = store_.create(pack_object(pack_id_));
  out_->write(bytes);
  size_ += bytes.size();
}

std::uint64_t PackWriter::commit() {
  // entries_ holds each frame's blocks together, by index (add_frame and copy_frame append them so).
  Bytes table;
  table.reserve(kBlockSizeBytes + entries_.size() * (kBlockIdBytes + 1) + kFrameEntryBytes);
  put_u32le(table, block_bytes_);
  for (std::size_t i = 0; i < entries_.size();) {
    std::size_t j = i;
    std::uint64_t raw = 0;
    for (; j < entries_.size() && entries_[j].offset == entries_[i].offset; ++j) raw += entries_[j].raw_length;
    put_u32le(table, entries_[i].offset);
    put_u32le(table, entries_[i].length);
    table.push_back(static_cast<std::uint8_t>(j - i));
    put_u32le(table, static_cast<std::uint32_t>(raw));
    for (std::size_t k = i; k < j; ++k) table.insert(table.end(), entries_[k].id.begin(), entries_[k].id.end());
    i = j;
  }
  scratch_.clear();
  aead_.seal(table, trailer_aad(pack_id_), scratch_);
  put_u32le(scratch_, static_cast<std::uint32_t>(scratch_.size()));
  put_u32le(scratch_, kPackVersion);
  scratch_.insert(scratch_.end(), kPackMagic.begin(), kPackMagic.end());
  append(scratch_);
  out_->commit();
  out_.reset();
  Bytes().swap(scratch_);
  return size_;
}

namespace {

// Checks the tail and opens the trailer. fetch(offset, length) returns bytes of the pack.
template <typename Fetch>
PackTrailer parse_trailer(std::uint64_t pack_bytes, Fetch fetch, const MasterKey& key, const std::string& pack_id,
                          const std::string& where) {
  auto bad = [&](const std::string& why) -> PackTrailer { throw CorruptPack(pack_id, where, why); };
  if (pack_bytes < kTailBytes) return bad("shorter than its tail");
  const auto tail = parse_tail(fetch(pack_bytes - kTailBytes, kTailBytes));
  if (!tail) return bad("no pack tail (truncated?)");
  if (tail->version != kPackVersion)
    return bad("pack format version " + std::to_string(tail->version) + ", this pgdr reads version " +
               std::to_string(kPackVersion));
  const std::uint32_t trailer_len = tail->trailer_length;
  if (trailer_len > pack_bytes - kTailBytes) return bad("trailer length beyond the pack");
  Bytes sealed = fetch(pack_bytes - kTailBytes - trailer_len, trailer_len);
  io::Aead aead(key.data_key().view());
  Bytes table;
  try {
    aead.open(sealed, trailer_aad(pack_id), table);
  } catch (const Error&) {
    return bad("trailer fails authentication");
  }
  PackTrailer out;
  out.stored_bytes = std::uint64_t{trailer_len} + kTailBytes;
  if (table.size() < kBlockSizeBytes) return bad("trailer without a block size");
  out.block_bytes = get_u32le(table.data());
  if (out.block_bytes == 0 || out.block_bytes > kMaxBlockBytes) return bad("trailer with an impossible block size");
  const std::uint64_t body_end = pack_bytes - kTailBytes - trailer_len;
  const std::uint64_t block = out.block_bytes;
  std::uint64_t frames_end = 0;  // frames are listed in the order of the pack and do not overlap
  std::size_t pos = kBlockSizeBytes;
  while (pos < table.size()) {
    if (table.size() - pos < kFrameEntryBytes) return bad("trailer of odd length");
    const std::uint8_t* p = table.data() + pos;
    const std::uint32_t offset = get_u32le(p);
    const std::uint32_t length = get_u32le(p + 4);
    const std::size_t count = p[8];
    const std::uint64_t raw = get_u32le(p + 9);
    pos += kFrameEntryBytes;
    if (count == 0 || count > kMaxFrameBlocks) return bad("entry with an impossible block count");
    if (raw <= (count - 1) * block || raw > count * block) return bad("entry whose length does not fit its blocks");
    if (offset < frames_end || length == 0) return bad("entries out of order or overlapping");
    if (std::uint64_t{offset} + length > body_end) return bad("entry beyond the pack body");
    frames_end = std::uint64_t{offset} + length;
    if (table.size() - pos < count * kBlockIdBytes) return bad("trailer of odd length");
    for (std::size_t i = 0; i < count; ++i) {
      PackEntry e;
      std::memcpy(e.id.data(), table.data() + pos + i * kBlockIdBytes, kBlockIdBytes);
      e.offset = offset;
      e.length = length;
      e.index = static_cast<std::uint16_t>(i);
      e.raw_length = static_cast<std::uint32_t>(std::min<std::uint64_t>(block, raw - i * block));
      out.entries.push_back(e);
    }
    pos += count * kBlockIdBytes;
  }
  return out;
}

}  // namespace

std::optional<std::uint32_t> pack_version(const storage::Storage& store, const std::string& pack_id) {
  const std::string object = pack_object(pack_id);
  auto info = store.stat(object);
  if (!info || info->size_bytes < kTailBytes) return std::nullopt;
  auto bytes = store.read_range(object, info->size_bytes - kTailBytes, kTailBytes);
  if (!bytes) return std::nullopt;
  auto tail = parse_tail(*bytes);
  if (!tail) return std::nullopt;
  return tail->version;
}

PackTrailer read_pack_trailer(const storage::Storage& store, const MasterKey& key, const std::string& pack_id) {
  std::string object = pack_object(pack_id);
  auto info = store.stat(object);
  if (!info) throw Error(ErrorKind::not_found, "missing pack " + object + " in " + store.describe());
  auto fetch = [&](std::uint64_t offset, std::uint64_t length) {
    auto b = store.read_range(object, offset, length);
    if (!b) throw Error(ErrorKind::not_found, "missing pack " + object + " in " + store.describe());
    return std::move(*b);
  };
  return parse_trailer(info->size_bytes, fetch, key, pack_id, store.describe());
}

PackTrailer parse_pack_trailer(ByteView pack, const MasterKey& key, const std::string& pack_id,
                               const std::string& where) {
  auto fetch = [&](std::uint64_t offset, std::uint64_t length) {
    return Bytes(pack.begin() + static_cast<std::ptrdiff_t>(offset),
                 pack.begin() + static_cast<std::ptrdiff_t>(offset + length));
  };
  return parse_trailer(pack.size(), fetch, key, pack_id, where);
}

}  // namespace pgdr::repo
