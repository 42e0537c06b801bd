// Blocks and frames: how block content is named and stored. Per thread: holds the cipher,
// compressor and hash contexts so the hot loop allocates nothing it can reuse.
//
//   block digest = SHA-256(plaintext of one block)
//   block id     = HMAC-SHA-256(id key, block digest)   (names leak nothing without the key)
//   frame        = AES-256-GCM(data key, codec u8 | count u8 | raw_length u32le | ids (32 each) |
//                              payload, aad = "pgdr-v1 frame ")
//
// A frame holds 1 to kMaxFrameBlocks consecutive blocks of one file, compressed together (far
// better ratio and speed than block by block), while dedup still works block by block: a block
// is addressed as (frame, index). The ids inside the sealed frame let a reader check that the
// frame it opened holds the block it wanted.
#pragma once

#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "io/aead.h"
#include "io/compress.h"
#include "io/sha256.h"
#include "repo/keys.h"

namespace pgdr::repo {

using BlockId = io::Digest;
inline constexpr std::size_t kMaxFrameBlocks = 16;

class BlockCodec {
 public:
  BlockCodec(const MasterKey& key, io::Codec codec, int level);

  io::Digest digest_of(ByteView plaintext) { return sha_.of(plaintext); }
  BlockId id_of_digest(const io::Digest& digest) { return hmac_.of(digest); }
  BlockId id_of(ByteView plaintext) { return id_of_digest(digest_of(plaintext)); }

  // Appends the sealed frame holding ids.size() blocks whose plaintexts are concatenated in data.
  void seal_frame(const std::vector<BlockId>& ids, ByteView data, Bytes& out);
  // Opens a frame: appends its plaintext (the blocks, concatenated) to out and fills ids. Throws
  // Error(corrupt) "frame: <why>".
  void open_frame(ByteView sealed, std::vector<BlockId>& ids, Bytes& out);
  // The same, but the plaintext is placed at the start of buf, which is grown when too small and
  // never shrunk (so a reader reusing buf does not zero-fill it per frame); returns its length.
  std::size_t open_frame_to(ByteView sealed, std::vector<BlockId>& ids, Bytes& buf);
  // Authenticates a frame and reads its header, without decompressing: fills ids and returns the
  // length of the plaintext its payload holds. Enough where the content itself is not needed:
  // copying a frame as it is, or re-checking one whose content was proven before (authentic
  // bytes that decoded once decode the same again). Throws Error(corrupt) "frame: <why>".
  std::size_t authenticate_frame(ByteView sealed, std::vector<BlockId>& ids);

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
    std::size_t raw_bytes;
    ByteView payload;
  };
  Opened open_header(ByteView sealed, std::vector<BlockId>& ids);
  Bytes aad_;
};

}  // namespace pgdr::repo
