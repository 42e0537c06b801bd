// The digest a manifest records for each file, per manifest version:
//   version 1  SHA-256 over the SHA-256 of each block's plaintext, in file order;
//   version 2  SHA-256 over each block's id (32 zero bytes for a zero block), in file order.
// Version 2 lets a snapshot that reads only the blocks a change map names (backup/) record the
// digest of a whole file from the ids of the blocks it did not read again; a restore still proves
// every block's plaintext against its id before the ids go into the file digest. Ids are keyed,
// so two repositories record different digests for the same file under version 2.
#pragma once

#include <string>

#include "io/sha256.h"
#include "repo/block_codec.h"

namespace pgdr::repo {

inline constexpr int kManifestVersion = 2;       // written by this pgdr
inline constexpr int kOldestManifestVersion = 1;  // still read

class FileDigest {
 public:
  // Version 2: one block's id, or a zero block.
  void add_id(const BlockId& id) { sha_.update(id); }
  void add_zero() { sha_.update(BlockId{}); }
  // Version 1: one block's plaintext digest.
  void add_block_digest(const io::Digest& digest) { sha_.update(digest); }
  std::string finish_hex() { return to_hex(sha_.finish()); }

 private:
  io::Sha256 sha_;
};

}  // namespace pgdr::repo
