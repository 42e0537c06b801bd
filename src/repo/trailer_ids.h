// Block ids for manifests that locate blocks without naming them (version 4, repo/manifest.h).
// A repository keeps each block's id once, in the trailer of the pack that holds it (repo/pack.h);
// a manifest reference (pack, frame offset, index) finds it there. Repeating the id in every
// manifest cost 16 incompressible bytes per block of every snapshot: 4 % of a full backup of
// well-compressed pages, and nearly all of every snapshot's manifest (70 MB against 1.76 MB
// for a snapshot of pgbench scale 2000 after 1 % changed).
//
// A TrailerIds keeps the ids of the packs it used last, up to a budget in bytes (always the last
// pack, however large), and reads a trailer again once it has been dropped. A manifest lists a
// file's blocks in order and a worker fills a pack with whole files, so the packs a reader needs
// come in runs and each trailer is read about once. Thread-safe: a trailer is read under the lock,
// so threads wanting the same pack wait for one read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "repo/block_codec.h"
#include "repo/keys.h"
#include "repo/pack.h"
#include "storage/storage.h"

namespace pgdr::repo {

struct BlockRef;

// What a reader keeps of trailers by default: about 500 000 ids, the blocks of 4 GiB of pages.
inline constexpr std::size_t kTrailerIdsBudget = 8u << 20;

class TrailerIds {
 public:
  // The pack id of a manifest's pack number.
  using PackIdOf = std::function<const std::string&(std::uint32_t)>;

  // For the manifest of snapshot_id; where names the repository in messages. store and key must
  // outlive this.
  TrailerIds(const storage::Storage& store, const MasterKey& key, std::string snapshot_id, std::string where,
             PackIdOf pack_id, std::size_t budget_bytes = kTrailerIdsBudget);

  // Sets the id of every non-zero reference of file (its blocks from first_block on) from its
  // pack's trailer. Throws Error(not_found) "missing pack <object> in <where>", CorruptPack (a
  // trailer that fails its checks, as read_pack_trailer says, in <where>), Error(corrupt) "corrupt
  // manifest of snapshot <id> in <where> (block <n> of <file> refers to a frame at offset <o> of
  // pack <pack id> that its trailer does not list)", and what the storage throws.
  void resolve(std::span<BlockRef> refs, const std::string& file, std::uint64_t first_block);

  // Trailers read so far (a trailer read twice counts twice).
  std::uint64_t trailers_read() const;

 private:
  struct Frame {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t first = 0;  // index in ids of its block 0
    std::uint32_t count = 0;
  };
  struct Pack {
    std::uint32_t number = 0;
    std::vector<Frame> frames;  // by offset
    std::vector<BlockId> ids;
    std::size_t bytes() const { return frames.size() * sizeof(Frame) + ids.size() * sizeof(BlockId); }
  };

  // The pack's ids, read if not kept; it becomes the most recently used.
  const Pack& pack(std::uint32_t number);

  const storage::Storage& store_;
  const MasterKey& key_;
  std::string snapshot_id_;
  std::string where_;
  PackIdOf pack_id_;
  std::size_t budget_;
  mutable std::mutex mu_;
  std::list<Pack> kept_;  // most recently used first
  std::map<std::uint32_t, CorruptPack> damaged_;  // packs whose trailer failed its checks
  std::size_t kept_bytes_ = 0;
  std::uint64_t reads_ = 0;
};

}  // namespace pgdr::repo
