// The digest a manifest records for each file: SHA-256 over each block's id (16 zero bytes for a
// zero block), in file order. It lets a snapshot that reads only the blocks a change map names
// (backup/) record the digest of a whole file from the ids of the blocks it did not read again; a
// restore still proves every block's plaintext against its id before the ids go into the file
// digest. Ids are keyed, so two repositories record different digests for the same file.
//
// Manifest versions 1 (digests over the blocks' SHA-256) and 2 (32-byte ids) came only from
// development builds, whose packs this pgdr refuses as well. Version 3 carried each block's id in
// the manifest; version 4 leaves it in the pack's trailer alone (repo/trailer_ids.h). The digest
// is the same in both.
#pragma once

#include <string>

#include "io/sha256.h"
#include "repo/block_codec.h"

namespace pgdr::repo {

inline constexpr int kManifestVersion = 4;       // written by this pgdr (ids in pack trailers only)
inline constexpr int kOldestManifestVersion = 3;  // still read

class FileDigest {
 public:
  // One block's id, or a zero block.
  void add_id(const BlockId& id) { sha_.update(id); }
  void add_zero() { sha_.update(BlockId{}); }
  std::string finish_hex() { return to_hex(sha_.finish()); }

 private:
  io::Sha256 sha_;
};

}  // namespace pgdr::repo
