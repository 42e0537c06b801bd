// The blocks verify's first pass found in good frames (proven, or authenticated where an earlier
// run proved them; see verify/object_check.cpp), kept per pack in an unlinked spool file instead
// of in memory: a repository of tens of gigabytes holds millions of blocks, and verify's memory
// must not grow with it. The second pass looks each manifest reference up through a Lookup, which
// keeps the last few packs' blocks at hand (a file's blocks mostly sit in a few packs, in order).
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "core/file.h"
#include "repo/block_codec.h"

namespace pgdr::verify {

struct ProvenBlock {
  std::uint32_t offset = 0;  // of its frame in the pack
  std::uint16_t index = 0;   // in the frame
  repo::BlockId id{};        // its name, from the pack's trailer
};

class ProvenBlocks {
 public:
  explicit ProvenBlocks(std::size_t packs);

  // Records the blocks proved in one pack (once per pack). Thread-safe.
  void add(std::uint32_t pack_no, std::vector<ProvenBlock> blocks);
  // Blocks recorded in all.
  std::uint64_t count() const;

  // One thread's view. find() returns nullptr for a block no pass-1 read proved; the pointer is
  // valid until the next find().
  class Lookup {
   public:
    explicit Lookup(const ProvenBlocks& all) : all_(all) {}
    const ProvenBlock* find(std::uint32_t pack_no, std::uint32_t offset, std::uint16_t index);

   private:
    const std::vector<ProvenBlock>& blocks_of(std::uint32_t pack_no);

    static constexpr std::size_t kPacksKept = 3;  // a snapshot's old packs and its new one
    const ProvenBlocks& all_;
    std::vector<std::pair<std::uint32_t, std::vector<ProvenBlock>>> kept_;  // most recent first
    std::uint32_t cursor_pack_ = UINT32_MAX;  // the pack of the last block found,
    std::size_t cursor_ = 0;                  // and the index of the block after it
  };

 private:
  struct Extent {
    std::uint64_t at = 0;
    std::uint64_t count = 0;
  };

  mutable std::mutex mu_;
  File spool_;
  std::uint64_t spool_size_ = 0;
  std::vector<Extent> extents_;  // pack number -> its blocks in the spool, sorted by (offset, index)
  std::uint64_t count_ = 0;
};

}  // namespace pgdr::verify
