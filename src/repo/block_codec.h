// Blocks and frames: how block content is named and stored. Per thread: holds the cipher,
// compressor and hash contexts so the hot loop allocates nothing it can reuse.
//
//   block digest = SHA-256(plaintext of one block)
//   block id     = first 16 bytes of HMAC-SHA-256(id key, block digest)
//                  (names leak nothing without the key; 128 bits, see BlockId)
//   frame        = AES-256-GCM(data key, codec u8 | count u8 | raw_length u32le | payload,
//                              aad = "pgdr-v1 frame " | pack id | offset u32le)
//
// A frame holds 1 to kMaxFrameBlocks blocks of one file, compressed together (far better ratio
// and speed than block by block), while dedup still works block by block: a block is addressed as
// (pack, frame offset, index). A frame carries no block ids: its AAD binds it to its pack and
// offset, so a frame that opens is the one the writer put there, and the pack's trailer
// (repo/pack.h) and the manifests name its blocks. Keeping ids once saves their bytes per block, a
// tenth of what a well-compressed page stores.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "io/aead.h"
#include "io/compress.h"
#include "io/sha256.h"
#include "io/sha256_lanes.h"
#include "repo/keys.h"

namespace pgdr::repo {

// 128 bits of a keyed PRF: nobody without the id key can make two blocks share an id or forge one
// for a block, and chance collisions stay below 2^-60 up to 2^34 distinct blocks (128 TiB of
// 8 KiB pages). The full 32 bytes would cost 16 more bytes per stored block in its pack's trailer
// (the one copy of an id), stored as is (ids do not compress): several percent of what a
// well-compressed page stores.
inline constexpr std::size_t kBlockIdBytes = 16;
using BlockId = std::array<std::uint8_t, kBlockIdBytes>;
inline constexpr std::size_t kMaxFrameBlocks = 64;

// Where a frame lies, which its AAD names: the pack (32 hex digits) and the offset in it.
struct FramePlace {
  std::string_view pack_id;
  std::uint32_t offset = 0;
};

// What an opened frame's header says: how many blocks it holds, and their length together.
struct FrameShape {
  std::size_t count = 0;
  std::size_t raw_bytes = 0;
};

// The AAD of a frame at place.
void frame_aad(FramePlace place, Bytes& out);

// Frames that compress badly are where a slower search saves the most bytes for its CPU: lazy
// matching (zstd level 6) stores 3 to 4 % less than level 2 on table and index pages that
// compress 3:1, at about 2.5 times the compression time. Pages that compress 20:1 gain little
// in bytes for the same time. So frames of data that compresses less than harder_below to 1 are
// compressed at kHarderLevel; a file's frames are alike, so the frame sealed before tells.
inline constexpr int kHarderLevel = 6;

class BlockCodec {
 public:
  // harder_below: compress a frame at kHarderLevel when the one sealed before it compressed less
  // than harder_below to 1 (and at all); 0 never does, nor does a zstd level of kHarderLevel or
  // more, nor another codec.
  BlockCodec(const MasterKey& key, io::Codec codec, int level, int harder_below = 0);

  io::Digest digest_of(ByteView plaintext) { return sha_.of(plaintext); }
  BlockId id_of_digest(const io::Digest& digest);
  // ids[i] = id_of_digest(digests[i]), side by side (io/sha256_lanes.h): how a backup names the
  // blocks of a chunk. Sizes must match, else Error(internal).
  void ids_of_digests(std::span<const io::Digest> digests, std::span<BlockId> ids);
  BlockId id_of(ByteView plaintext) { return id_of_digest(digest_of(plaintext)); }

  // Appends the frame, sealed for place, holding count blocks whose plaintexts are concatenated
  // in data.
  void seal_frame(std::size_t count, ByteView data, FramePlace place, Bytes& out);
  // Whether the frame sealed last was compressed at kHarderLevel.
  bool sealed_harder() const { return sealed_harder_; }
  // Opens the frame found at place: appends its plaintext (the blocks, concatenated) to out.
  // Throws Error(corrupt) "frame: <why>" (a frame moved from elsewhere fails authentication).
  FrameShape open_frame(ByteView sealed, FramePlace place, Bytes& out);
  // The same, but the plaintext is placed at the start of buf, which is grown when too small and
  // never shrunk (so a reader reusing buf does not zero-fill it per frame).
  FrameShape open_frame_to(ByteView sealed, FramePlace place, Bytes& buf);
  // Authenticates the frame at place and reads its header, without decompressing. Enough where the
  // content itself is not needed: moving a frame, or re-checking one whose content was proven
  // before (authentic bytes that decoded once decode the same again). Throws Error(corrupt)
  // "frame: <why>".
  FrameShape authenticate_frame(ByteView sealed, FramePlace place);
  // Repacking: the frame sealed for from, sealed anew for to (authenticated, not decompressed),
  // appended to out. Throws Error(corrupt) "frame: <why>".
  void reseal_frame(ByteView sealed, FramePlace from, FramePlace to, Bytes& out);

 private:
  io::Sha256 sha_;
  io::HmacSha256 hmac_;
  io::HmacSha256Lanes hmac_lanes_;
  std::vector<io::Digest> macs_;
  io::Aead aead_;
  io::Compressor compressor_;
  std::optional<io::Compressor> harder_;
  std::size_t harder_below_ = 0;
  bool sealed_harder_ = false;
  bool next_harder_ = false;
  io::Decompressor decompressor_;
  Bytes plain_;
  // Opens and checks a frame's header; the payload is a view into plain_.
  struct Opened {
    io::Codec codec;
    FrameShape shape;
    ByteView payload;
  };
  Opened open_header(ByteView sealed, FramePlace place);
  Bytes aad_;
};

}  // namespace pgdr::repo
