// The one reader of blocks from packs: restore reads the blocks a manifest names, repack (expire)
// the frames it copies, verify every frame of a pack. Here and nowhere else:
//  - range coalescing: the distinct frames a read needs, neighbouring frames of one pack fetched
//    in one ranged get of at most kMaxCoalescedRead bytes, each frame opened once;
//  - frame opening: authenticated, decrypted and decompressed by repo/block_codec.h (or only
//    authenticated, where the content is not needed);
//  - the checks: a frame opens for the place a manifest or trailer names (its AAD binds it to its
//    pack and offset) and holds a block at the index named, a frame and its pack's trailer
//    (repo/pack.h) agree on its blocks, a block's HMAC is its id;
//  - the message of a damaged frame, "corrupt pack <object> in <where> (frame at offset <n>:
//    <why>)", made by frame_damage() alone and thrown as CorruptPack, whose parts a caller
//    collecting findings reads without parsing the text.
//
// A BlockReader belongs to one thread (it holds a codec and reuses its buffers); a parallel caller
// builds one per worker. The storage and key it reads with must outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "io/sha256.h"
#include "repo/block_codec.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "storage/storage.h"

namespace pgdr::repo {

// The most one ranged get of neighbouring frames reads (one frame alone may be longer).
inline constexpr std::uint64_t kMaxCoalescedRead = 8u << 20;

// The one message of a damaged frame: CorruptPack "corrupt pack <object> in <where> (frame at offset
// <offset>: <why>)", its detail "frame at offset <offset>: <why>".
CorruptPack frame_damage(const std::string& pack_id, const std::string& where, std::uint32_t offset,
                         const std::string& why);

// Consecutive blocks of one file, as its manifest names them (a slice of the file).
struct BlockRead {
  const ManifestIndex* manifest = nullptr;  // names the packs of refs; its block size places the blocks
  std::span<const BlockRef> refs;           // blocks first_block, first_block + 1, ... of the file
  std::uint64_t bytes = 0;                  // of the blocks together: the file's last block may be short
  const std::vector<bool>* skip = nullptr;  // refs not to read (already in hand); none when null
  bool ids_known = true;  // false: the refs carry no ids (their pack's trailer is damaged), so the
                          // blocks are read and hashed but not checked; the caller proves them
  std::uint64_t first_block = 0;            // for messages
  std::string_view file;                    // the file's path, for messages
  std::string_view snapshot;                // the snapshot's id, for messages
};

// A pack's trailer entries, sorted by frame offset, then index in the frame, and bytes of the pack
// in hand: all of it (repack copies frames out of it), or a window at a time (verify walks every
// frame without holding the whole pack). The bytes are the caller's.
struct WholePack {
  std::string pack_id;
  ByteView bytes;
  std::vector<PackEntry> entries;
  std::uint64_t base = 0;           // offset in the pack of bytes[0]
  std::uint64_t trailer_bytes = 0;  // read for the trailer and tail
};

class BlockReader {
 public:
  // Reads from store with key; where names the repository in messages.
  BlockReader(const storage::Storage& store, const MasterKey& key, std::string where);
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  // For the callers' own hashing of blocks in hand (delta restore compares what is on disk).
  BlockCodec& codec() { return codec_; }

  // Reads the blocks of read into out (block i at i * the manifest's block size): zero blocks as
  // zeros, skipped blocks left as the caller placed them, every other block from its frame, each
  // checked against its id. digests[i] is the SHA-256 of block i of out, for every i (one per ref).
  // Throws Error(not_found) "missing pack <object> needed by <file> of snapshot <id> in <where>",
  // CorruptPack for a frame that does not open or does not hold the block, Error(corrupt) "block
  // <n> of <file> in snapshot <id> in <where> does not match its id (repository damaged?)", and
  // what the storage throws; object_in_hand() then names the pack being read.
  void read_blocks(const BlockRead& read, std::uint8_t* out, std::span<io::Digest> digests);
  // The pack object read_blocks was reading when it threw; empty when it threw reading none.
  const std::string& object_in_hand() const { return object_in_hand_; }

  // Parses the trailer of a pack read whole (bytes stay the caller's). Throws CorruptPack.
  WholePack whole_pack(const std::string& pack_id, ByteView bytes) const;
  // Reads and parses the trailer alone (bytes left empty, for the caller's windows). Throws
  // CorruptPack, Error(not_found) for a missing pack, and what the storage throws.
  WholePack listed_pack(const std::string& pack_id) const;
  // Repack: the sealed frame at (offset, length) of pack, which a manifest names, authenticated,
  // and the trailer's entries of its blocks, each a block the frame holds at its index. Throws
  // CorruptPack (frame_damage) when the trailer does not list it, it does not open for its place,
  // or the trailer and the frame disagree on its number of blocks.
  std::vector<PackEntry> listed_frame(const WholePack& pack, std::uint32_t offset, std::uint32_t length);
  // Verify: the frame whose trailer entries are frame (all those at one offset, by index), which
  // pack.bytes must hold (from pack.base on), opened and
  // proven: the frame holds as many blocks as listed, in order, each of the listed length, and the
  // HMAC of each block's SHA-256 is its id in the trailer. Returns each block's
  // SHA-256, valid until the next call. block_bytes: the size of the pack's blocks (the last of a
  // frame may be shorter). Throws CorruptPack (frame_damage).
  std::span<const io::Digest> proven_frame(const WholePack& pack, std::span<const PackEntry> frame,
                                           std::uint32_t block_bytes);
  // Verify, for a frame whose content an earlier run proved: the same frame authenticated (not
  // decompressed, not hashed) for its place, holding as many blocks as listed, of the listed
  // lengths. Throws CorruptPack (frame_damage).
  void authenticated_frame(const WholePack& pack, std::span<const PackEntry> frame, std::uint32_t block_bytes);

 private:
  // Where one frame a read_blocks call needs lies.
  struct Spot {
    std::uint32_t pack = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  static bool before(const Spot& a, const Spot& b);
  // A frame opened by read_blocks. Kept from call to call, so that its buffer is reused.
  struct Frame {
    std::size_t count = 0;  // of blocks
    Bytes plain;  // grown, never shrunk: its first plain_bytes bytes are the frame's blocks
    std::size_t plain_bytes = 0;
  };
  void gather_frames(const BlockRead& read);
  void fetch_frames(const BlockRead& read);
  const Frame& frame_of(const BlockRef& ref) const;
  // "; the pack has format version N, ..." for a pack whose tail states another version; empty
  // otherwise.
  std::string other_format(const std::string& pack_id) const;
  // proven_frame's and authenticated_frame's common part: the frame opened (decoded into plain_
  // when decode, else authenticated only) and checked against its trailer entries, but for ids.
  void open_listed(const WholePack& pack, std::span<const PackEntry> frame, std::uint32_t block_bytes, bool decode);

  const storage::Storage& store_;
  const MasterKey& key_;
  std::string where_;
  BlockCodec codec_;
  std::vector<Spot> spots_;    // the distinct frames of the current read_blocks call, sorted
  std::vector<Frame> frames_;  // frames_[i] holds spots_[i]'s content
  std::string object_in_hand_;
  // proven_frame's frame, and the blocks of read_blocks or proven_frame.
  Bytes plain_;
  std::vector<ByteView> views_;
  std::vector<io::Digest> digests_;
  std::vector<BlockId> ids_;  // of digests_ or of a read's blocks, under the id key
};

}  // namespace pgdr::repo
