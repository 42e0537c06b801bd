#include "repo/pack.h"

#include <cstring>

#include "core/error.h"
#include "core/little_endian.h"
#include "io/kdf.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kPackMagic = "PGDRPACK";
constexpr std::size_t kTailBytes = 16;
constexpr std::size_t kEntryBytes = 32 + 14;

Bytes trailer_aad(const std::string& pack_id) { return to_bytes(std::string(kAadPackTrailer) + pack_id); }

}  // namespace

CorruptPack::CorruptPack(const std::string& pack_id, const std::string& where, std::string detail)
    : Error(ErrorKind::corrupt, "corrupt pack " + pack_object(pack_id) + " in " + where + " (" + detail + ")"),
      object_(pack_object(pack_id)),
      detail_(std::move(detail)) {}

std::string new_pack_id() { return to_hex(io::random_bytes(16)); }

std::uint64_t pack_overhead_bound(std::size_t frames) {
  constexpr std::uint64_t kAeadBytes = 12 + 16;  // nonce and tag of the sealed trailer
  return kTailBytes + kAeadBytes + static_cast<std::uint64_t>(frames) * kMaxFrameBlocks * kEntryBytes;
}

PackWriter::PackWriter(storage::Storage& store, const MasterKey& key, std::string pack_id)
    : store_(store), pack_id_(std::move(pack_id)), aead_(key.data_key().view()) {}

std::vector<PackEntry> PackWriter::add_frame(BlockCodec& codec, const std::vector<BlockId>& ids, ByteView data,
                                             std::uint32_t block_bytes) {
  auto offset = static_cast<std::uint32_t>(size_);
  scratch_.clear();
  codec.seal_frame(ids, data, scratch_);
  auto length = static_cast<std::uint32_t>(scratch_.size());
  append(scratch_);
  std::vector<PackEntry> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    out[i].id = ids[i];
    out[i].offset = offset;
    out[i].length = length;
    out[i].index = static_cast<std::uint16_t>(i);
    std::size_t start = i * block_bytes;
    out[i].raw_length = static_cast<std::uint32_t>(std::min<std::size_t>(block_bytes, data.size() - start));
    entries_.push_back(out[i]);
  }
  return out;
}

std::uint32_t PackWriter::copy_frame(ByteView sealed, const std::vector<PackEntry>& blocks) {
  auto offset = static_cast<std::uint32_t>(size_);
  append(sealed);
  for (PackEntry e : blocks) {
    e.offset = offset;
    e.length = static_cast<std::uint32_t>(sealed.size());
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
  Bytes table;
  table.reserve(entries_.size() * kEntryBytes);
  for (const auto& e : entries_) {
    table.insert(table.end(), e.id.begin(), e.id.end());
    put_u32le(table, e.offset);
    put_u32le(table, e.length);
    put_u16le(table, e.index);
    put_u32le(table, e.raw_length);
  }
  scratch_.clear();
  aead_.seal(table, trailer_aad(pack_id_), scratch_);
  put_u32le(scratch_, static_cast<std::uint32_t>(scratch_.size()));
  put_u32le(scratch_, static_cast<std::uint32_t>(kFormatVersion));
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
std::vector<PackEntry> parse_trailer(std::uint64_t pack_bytes, Fetch fetch, const MasterKey& key,
                                     const std::string& pack_id, const std::string& where) {
  auto bad = [&](const std::string& why) -> std::vector<PackEntry> { throw CorruptPack(pack_id, where, why); };
  if (pack_bytes < kTailBytes) return bad("shorter than its tail");
  Bytes tail = fetch(pack_bytes - kTailBytes, kTailBytes);
  if (std::memcmp(tail.data() + 8, kPackMagic.data(), kPackMagic.size()) != 0) return bad("no pack tail (truncated?)");
  std::uint32_t version = get_u32le(tail.data() + 4);
  if (version != static_cast<std::uint32_t>(kFormatVersion))
    return bad("pack format version " + std::to_string(version) + ", this pgdr reads version " + std::to_string(kFormatVersion));
  std::uint32_t trailer_len = get_u32le(tail.data());
  if (trailer_len > pack_bytes - kTailBytes) return bad("trailer length beyond the pack");
  Bytes sealed = fetch(pack_bytes - kTailBytes - trailer_len, trailer_len);
  io::Aead aead(key.data_key().view());
  Bytes table;
  try {
    aead.open(sealed, trailer_aad(pack_id), table);
  } catch (const Error&) {
    return bad("trailer fails authentication");
  }
  if (table.size() % kEntryBytes != 0) return bad("trailer of odd length");
  std::vector<PackEntry> out(table.size() / kEntryBytes);
  std::uint64_t body_end = pack_bytes - kTailBytes - trailer_len;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t* p = table.data() + i * kEntryBytes;
    std::copy(p, p + 32, out[i].id.begin());
    out[i].offset = get_u32le(p + 32);
    out[i].length = get_u32le(p + 36);
    out[i].index = get_u16le(p + 40);
    out[i].raw_length = get_u32le(p + 42);
    if (out[i].index >= kMaxFrameBlocks) return bad("entry with an impossible frame index");
    if (static_cast<std::uint64_t>(out[i].offset) + out[i].length > body_end) return bad("entry beyond the pack body");
  }
  return out;
}

}  // namespace

std::vector<PackEntry> read_pack_trailer(const storage::Storage& store, const MasterKey& key,
                                         const std::string& pack_id) {
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

std::vector<PackEntry> parse_pack_trailer(ByteView pack, const MasterKey& key, const std::string& pack_id,
                                          const std::string& where) {
  auto fetch = [&](std::uint64_t offset, std::uint64_t length) {
    return Bytes(pack.begin() + static_cast<std::ptrdiff_t>(offset),
                 pack.begin() + static_cast<std::ptrdiff_t>(offset + length));
  };
  return parse_trailer(pack.size(), fetch, key, pack_id, where);
}

}  // namespace pgdr::repo
