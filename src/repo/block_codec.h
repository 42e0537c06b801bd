// Turns a block of plaintext into what a pack stores and back. Per thread: holds the cipher,
// compressor and HMAC contexts so the hot loop allocates nothing it can reuse.
//
//   block id = HMAC-SHA-256(id key, plaintext)            (names leak nothing without the key)
//   blob     = AES-256-GCM(data key, codec u8 | payload, aad = "pgdr-v1 block " | id)
#pragma once

#include <cstdint>

#include "core/bytes.h"
#include "io/aead.h"
#include "io/compress.h"
#include "io/sha256.h"
#include "repo/keys.h"

namespace pgdr::repo {

using BlockId = io::Digest;

class BlockCodec {
 public:
  BlockCodec(const MasterKey& key, io::Codec codec, int level);

  BlockId id_of(ByteView plaintext) { return hmac_.of(plaintext); }
  // Appends the blob for plaintext (whose id is id) to out.
  void seal(const BlockId& id, ByteView plaintext, Bytes& out);
  // Appends the raw_bytes of plaintext of blob to out. Throws Error(corrupt) "block <id>: <why>".
  void open(const BlockId& id, ByteView blob, std::size_t raw_bytes, Bytes& out);

 private:
  io::HmacSha256 hmac_;
  io::Aead aead_;
  io::Compressor compressor_;
  io::Decompressor decompressor_;
  Bytes plain_;
  Bytes aad_;
};

}  // namespace pgdr::repo
