// Blocks and frames: how block content is named and stored. Per thread: holds the cipher,
// compressor and hash contexts so the hot loop allocates nothing it can reuse.
//
//   block digest = SHA-256(plaintext of one block)
//   block id     = HMAC-SHA-256(id key, block digest)   (names leak nothing without the key)
//   frame        = AES-256-GCM(data key, codec u8 | count u8 | raw_length u32le | payload,
//                              aad = "pgdr-v1 frame " | pack id | offset u32le)
//
// A frame holds 1 to kMaxFrameBlocks blocks of one file, compressed together (far better ratio
// and speed than block by block), while dedup still works block by block: a block is addressed as
// (pack, frame offset, index). A frame carries no block ids: its AAD binds it to its pack and
// offset, so a frame that opens is the one the writer put there, and the pack's trailer
// (repo/pack.h) and the manifests name its blocks. Keeping ids once saves 32 bytes per block, a
// tenth of what a well-compressed page stores.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "io/aead.h"
#include "io/compress.h"
#include "io/sha256.h"
#include "repo/keys.h"

namespace pgdr::repo {

using BlockId = io::Digest;
inline constexpr std::size_t kMaxFrameBlocks = 16;

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

class BlockCodec {
 public:
  BlockCodec(const MasterKey& key, io::Codec codec, int level);

  io::Digest digest_of(ByteView plaintext) { return sha_.of(plaintext); }
  BlockId id_of_digest(const io::Digest& digest) { return hmac_.of(digest); }
  BlockId id_of(ByteView plaintext) { return id_of_digest(digest_of(plaintext)); }

  // Appends the frame, sealed for place, holding count blocks whose plaintexts are concatenated
  // in data.
  void seal_frame(std::size_t count, ByteView data, FramePlace place, Bytes& out);
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
  io::Aead aead_;
  io::Compressor compressor_;
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
