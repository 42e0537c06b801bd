#include "repo/block_reader.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "io/sha256_lanes.h"
#include "repo/format.h"

namespace pgdr::repo {

bool BlockReader::before(const Spot& a, const Spot& b) {
  return a.pack != b.pack ? a.pack < b.pack : a.offset < b.offset;
}

CorruptPack frame_damage(const std::string& pack_id, const std::string& where, std::uint32_t offset,
                         const std::string& why) {
  return CorruptPack(pack_id, where, "frame at offset " + std::to_string(offset) + ": " + why);
}

BlockReader::BlockReader(const storage::Storage& store, const MasterKey& key, std::string where)
    : store_(store), key_(key), where_(std::move(where)), codec_(key, io::Codec::none, 0) {}

void BlockReader::read_blocks(const BlockRead& read, std::uint8_t* out, std::span<io::Digest> digests) {
  object_in_hand_.clear();
  const std::size_t n = read.refs.size();
  if (digests.size() != n) throw Error(ErrorKind::internal, "read_blocks: one digest per block");
  const std::uint64_t block = read.manifest->block_bytes();
  auto wanted = [&](std::size_t i) { return !read.refs[i].is_zero() && !(read.skip && (*read.skip)[i]); };
  auto length_of = [&](std::size_t i) { return std::min<std::uint64_t>(block, read.bytes - i * block); };

  gather_frames(read);
  fetch_frames(read);
  for (std::size_t i = 0; i < n; ++i) {
    const BlockRef& ref = read.refs[i];
    std::uint8_t* to = out + i * block;
    if (ref.is_zero()) std::memset(to, 0, length_of(i));
    if (!wanted(i)) continue;
    const Frame& fr = frame_of(ref);
    const std::uint64_t at = static_cast<std::uint64_t>(ref.index) * block;
    if (ref.index >= fr.count || at + length_of(i) > fr.plain_bytes) {
      const std::string& pack_id = read.manifest->pack_id(ref.pack);
      object_in_hand_ = pack_object(pack_id);
      throw frame_damage(pack_id, where_, ref.offset, "does not hold the block " + std::string(read.file) + " needs");
    }
    std::memcpy(to, fr.plain.data() + at, length_of(i));
  }
  // The blocks are hashed side by side (see io/sha256_lanes.h), then checked in order.
  views_.resize(n);
  for (std::size_t i = 0; i < n; ++i) views_[i] = ByteView(out + i * block, length_of(i));
  io::sha256_many(views_, digests);
  if (!read.ids_known) return;  // the caller makes the ids from the digests, and proves the file
  ids_.resize(n);
  codec_.ids_of_digests(digests, ids_);
  for (std::size_t i = 0; i < n; ++i) {
    if (!wanted(i) || ids_[i] == read.refs[i].id) continue;
    object_in_hand_ = pack_object(read.manifest->pack_id(read.refs[i].pack));
    throw Error(ErrorKind::corrupt, "block " + std::to_string(read.first_block + i) + " of " + std::string(read.file) +
                                        " in snapshot " + std::string(read.snapshot) + " in " + where_ +
                                        " does not match its id (repository damaged?)");
  }
}

// The distinct frames the read needs, sorted by pack and offset, into spots_ (for a frame named
// twice with different lengths, a damaged manifest, the first naming counts).
void BlockReader::gather_frames(const BlockRead& read) {
  spots_.clear();
  for (std::size_t i = 0; i < read.refs.size(); ++i) {
    const BlockRef& ref = read.refs[i];
    if (!ref.is_zero() && !(read.skip && (*read.skip)[i])) spots_.push_back({ref.pack, ref.offset, ref.length});
  }
  std::stable_sort(spots_.begin(), spots_.end(), [](const Spot& a, const Spot& b) { return before(a, b); });
  spots_.erase(std::unique(spots_.begin(), spots_.end(),
                           [](const Spot& a, const Spot& b) { return a.pack == b.pack && a.offset == b.offset; }),
               spots_.end());
  if (frames_.size() < spots_.size()) frames_.resize(spots_.size());
}

// Reads and opens the frames of spots_ into frames_: runs of neighbouring frames of one pack in one
// ranged get.
void BlockReader::fetch_frames(const BlockRead& read) {
  std::size_t k = 0;
  while (k < spots_.size()) {
    const Spot& head = spots_[k];
    std::size_t j = k + 1;
    std::uint64_t end = static_cast<std::uint64_t>(head.offset) + head.length;
    while (j < spots_.size() && spots_[j].pack == head.pack && spots_[j].offset == end &&
           end - head.offset + spots_[j].length <= kMaxCoalescedRead) {
      end += spots_[j].length;
      ++j;
    }
    const std::string& pack_id = read.manifest->pack_id(head.pack);
    object_in_hand_ = pack_object(pack_id);
    auto data = store_.read_range(object_in_hand_, head.offset, end - head.offset);
    if (!data)
      throw Error(ErrorKind::not_found, "missing pack " + object_in_hand_ + " needed by " + std::string(read.file) +
                                            " of snapshot " + std::string(read.snapshot) + " in " + where_);
    for (std::size_t m = k; m < j; ++m) {
      const Spot& at = spots_[m];
      Frame& f = frames_[m];
      try {
        const FrameShape shape = codec_.open_frame_to(ByteView(data->data() + (at.offset - head.offset), at.length),
                                                      FramePlace{pack_id, at.offset}, f.plain);
        f.count = shape.count;
        f.plain_bytes = shape.raw_bytes;
      } catch (const Error& e) {
        throw frame_damage(pack_id, where_, at.offset, std::string(e.what()) + ", needed by " + std::string(read.file) +
                                                           other_format(pack_id));
      }
    }
    k = j;
  }
  object_in_hand_.clear();
}

// A frame that does not open may sit in a pack of another format rather than be damaged: its
// tail says so (restore reads no tails otherwise).
std::string BlockReader::other_format(const std::string& pack_id) const {
  try {
    if (auto v = pack_version(store_, pack_id); v && *v != kPackVersion)
      return "; the pack has format version " + std::to_string(*v) + ", this pgdr reads version " +
             std::to_string(kPackVersion);
  } catch (const Error&) {
    // The frame's own failure is the error to report.
  }
  return {};
}

const BlockReader::Frame& BlockReader::frame_of(const BlockRef& ref) const {
  Spot want{ref.pack, ref.offset, ref.length};
  auto it = std::lower_bound(spots_.begin(), spots_.end(), want, [](const Spot& a, const Spot& b) { return before(a, b); });
  return frames_[static_cast<std::size_t>(it - spots_.begin())];
}

namespace {

// A trailer's entries by frame and index. The writer lists them so, and a pack of well-compressed
// pages lists 100,000 of them: checking is linear where sorting anew is not.
std::vector<PackEntry> in_place_order(std::vector<PackEntry> entries) {
  auto before = [](const PackEntry& a, const PackEntry& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.index < b.index;
  };
  if (!std::is_sorted(entries.begin(), entries.end(), before)) std::sort(entries.begin(), entries.end(), before);
  return entries;
}

}  // namespace

WholePack BlockReader::whole_pack(const std::string& pack_id, ByteView bytes) const {
  PackTrailer t = parse_pack_trailer(bytes, key_, pack_id, where_);
  return {pack_id, bytes, in_place_order(std::move(t.entries)), 0, t.stored_bytes};
}

WholePack BlockReader::listed_pack(const std::string& pack_id) const {
  PackTrailer t = read_pack_trailer(store_, key_, pack_id);
  return {pack_id, {}, in_place_order(std::move(t.entries)), 0, t.stored_bytes};
}

std::vector<PackEntry> BlockReader::listed_frame(const WholePack& pack, std::uint32_t offset, std::uint32_t length) {
  auto bad = [&](const std::string& why) { return frame_damage(pack.pack_id, where_, offset, why); };
  std::vector<PackEntry> blocks;
  auto it = std::lower_bound(pack.entries.begin(), pack.entries.end(), offset,
                             [](const PackEntry& e, std::uint32_t off) { return e.offset < off; });
  for (; it != pack.entries.end() && it->offset == offset; ++it)
    if (it->length == length) blocks.push_back(*it);
  if (blocks.empty()) throw bad("a kept snapshot refers to it, the trailer does not list it");
  if (std::uint64_t{offset} + length > pack.bytes.size()) throw bad("frame beyond the pack");
  FrameShape shape;
  try {
    shape = codec_.authenticate_frame(pack.bytes.subspan(offset, length), FramePlace{pack.pack_id, offset});
  } catch (const Error& e) {
    throw bad(e.what());
  }
  if (shape.count != blocks.size()) throw bad("the trailer and the frame disagree on its blocks");
  return blocks;
}

void BlockReader::open_listed(const WholePack& pack, std::span<const PackEntry> frame, std::uint32_t block_bytes,
                              bool decode) {
  const PackEntry& first = frame.front();
  auto bad = [&](const std::string& why) { return frame_damage(pack.pack_id, where_, first.offset, why); };
  if (first.length == 0 || first.offset < pack.base ||
      first.offset - pack.base + std::uint64_t{first.length} > pack.bytes.size())
    throw bad("frame beyond the pack");
  ByteView sealed = pack.bytes.subspan(first.offset - pack.base, first.length);
  const FramePlace place{pack.pack_id, first.offset};
  FrameShape shape;
  try {
    shape = decode ? codec_.open_frame_to(sealed, place, plain_) : codec_.authenticate_frame(sealed, place);
  } catch (const Error& e) {
    throw bad(e.what());
  }
  const std::size_t plain_bytes = shape.raw_bytes;
  if (shape.count != frame.size())
    throw bad("frame holds " + std::to_string(shape.count) + " blocks, the trailer lists " + std::to_string(frame.size()));
  std::size_t pos = 0;
  views_.clear();
  for (std::size_t k = 0; k < shape.count; ++k) {
    const PackEntry& e = frame[k];
    if (e.index != k) throw bad("trailer lists the frame's blocks out of order");
    std::size_t len = std::min<std::size_t>(block_bytes, plain_bytes - pos);
    if (len != e.raw_length) throw bad("block " + std::to_string(k) + " has the wrong length");
    if (decode) views_.emplace_back(plain_.data() + pos, len);
    pos += len;
  }
  if (pos != plain_bytes) throw bad("frame longer than its blocks");
}

std::span<const io::Digest> BlockReader::proven_frame(const WholePack& pack, std::span<const PackEntry> frame,
                                                      std::uint32_t block_bytes) {
  open_listed(pack, frame, block_bytes, true);
  // The frame's blocks are hashed side by side (see io/sha256_lanes.h), then each digest's HMAC is
  // compared with the trailer's id.
  digests_.resize(views_.size());
  io::sha256_many(views_, digests_);
  ids_.resize(digests_.size());
  codec_.ids_of_digests(digests_, ids_);
  for (std::size_t k = 0; k < frame.size(); ++k) {
    if (ids_[k] != frame[k].id)
      throw frame_damage(pack.pack_id, where_, frame.front().offset,
                         "block " + std::to_string(k) + " does not match its id");
  }
  return digests_;
}

// The frame authenticates for its place in its pack, so it is the frame the writer put there, and
// the trailer, authenticated for its pack, lists what the writer put in it.
void BlockReader::authenticated_frame(const WholePack& pack, std::span<const PackEntry> frame,
                                      std::uint32_t block_bytes) {
  open_listed(pack, frame, block_bytes, false);
}

}  // namespace pgdr::repo
