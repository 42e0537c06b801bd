// Repacking: a pack that kept snapshots still need in part, but that is mostly garbage (frames no
// kept snapshot refers to any more), is rewritten. The frames still needed are authenticated and
// sealed anew into new packs (a frame's AAD names its pack and offset; the content is not
// decompressed), then every kept manifest that declares an old pack is rewritten to
// point at the copies. Expire (expire.h) decides which packs, and orders the steps so that the
// repository is valid after a crash at any point (docs/REPOSITORY_FORMAT.md, "Repacking").
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgdr::repo {

// The frames kept snapshots refer to, by pack: 8 bytes per distinct frame, so memory grows with
// the number of frames stored, not with the number of snapshots that share them.
class LiveFrames {
 public:
  // Records the frame of every stored block of m.
  void add(const ManifestIndex& m);
  // Sorted, distinct (offset << 32 | length) of the frames referred to in pack_id.
  const std::vector<std::uint64_t>& of(const std::string& pack_id);
  // Sum of the lengths of those frames.
  std::uint64_t bytes(const std::string& pack_id);

 private:
  struct Frames {
    std::vector<std::uint64_t> keys;
    std::size_t distinct = 0;  // keys[0, distinct) is sorted and distinct
  };
  static void compact(Frames& f);
  std::unordered_map<std::string, Frames> by_pack_;
};

struct FrameCopy {
  std::string pack_id;
  std::uint32_t offset = 0;
};

struct CopyResult {
  std::set<std::string> repacked;  // old packs whose needed frames were all copied
  std::map<std::string, std::vector<std::string>> replaced_by;  // old pack -> the packs holding its copies
  std::vector<storage::ObjectInfo> written;  // the new packs, committed
  std::vector<std::string> skipped;          // one line per candidate left whole, saying why
  std::map<std::pair<std::string, std::uint32_t>, FrameCopy> moved;  // (old pack, frame offset) -> copy
};

// Copies the needed frames of every candidate, in order, into new packs of about
// pack_target_bytes, each committed (durable) before this returns. A candidate that is missing,
// whose trailer fails its checks, or one of whose needed frames fails authentication or is not in
// its trailer, is left whole and reported in skipped: the snapshots that need it are damaged
// already, and a copy would hide where.
CopyResult copy_live_frames(const Repository& repo, const std::vector<std::string>& candidates, LiveFrames& live);

struct RewrittenManifest {
  std::vector<std::string> packs;  // the packs the new manifest declares
  std::uint64_t stored_bytes = 0;
};

// Rewrites the manifest of snapshot_id, replacing it atomically, with every block of a moved frame
// pointing at its copy; entries, their order and everything else stay as they were. Throws
// Error(internal) if a block refers to a repacked pack in a frame that was not copied (the frames
// were not gathered from this manifest).
RewrittenManifest rewrite_manifest(const Repository& repo, const std::string& snapshot_id, const CopyResult& copies);

}  // namespace pgdr::repo
