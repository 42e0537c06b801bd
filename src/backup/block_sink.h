// One backup worker's part of one repository. The worker hands it the blocks of the file (or the
// piece of a file) in hand, in order; the sink names each block with the repository's key,
// reuses it where the previous snapshot or a killed backup's pack already holds it, gathers the
// others into frames, and seals the frames into its own open pack. It keeps the block references
// of the file in hand, in file order, until the file is recorded in the manifest.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "backup/backup_target.h"
#include "core/bytes.h"
#include "io/compress.h"
#include "io/sha256.h"
#include "repo/block_codec.h"
#include "repo/manifest.h"
#include "repo/pack.h"

namespace pgdr::backup {

class BlockSink {
 public:
  BlockSink(Target& target, io::Codec codec, int compress_level, int compress_harder_below, std::uint32_t block_bytes);

  // Begins the file at path, or blocks [first_block, first_block + blocks) of it: the previous
  // snapshot's references to the same blocks are what this one may reuse.
  void begin(const std::string& path, std::uint64_t first_block = 0,
             std::uint64_t blocks = std::numeric_limits<std::uint64_t>::max());

  // False when the previous snapshot has the file begun but its block ids could not be read (a
  // pack of it is missing or damaged): nothing can be kept, the file is read whole and stored.
  bool previous_known() const { return previous_known_; }

  // The next block is one the change map says is unchanged since the previous snapshot: its
  // reference is taken from there without reading it.
  void keep();

  // Forgets the file begun (its blocks already stored stay as garbage): it is read again whole.
  void restart();

  // The ids of blocks with these SHA-256 digests, under this repository's key.
  void name(std::span<const io::Digest> digests, std::vector<repo::BlockId>& ids) {
    ids.resize(digests.size());
    codec_.ids_of_digests(digests, ids);
  }
  // A non-zero block, with its id (from name()). b must stay valid until detach().
  void block(ByteView b, const repo::BlockId& id);
  // The memory the blocks given so far live in is about to be reused: the frame being built
  // stops pointing into it.
  void detach();
  void zero_block() { refs_.push_back(repo::BlockRef{}); }

  // Records the file begun, its size and block count from entry.
  void end(const repo::FileEntry& entry) { add_file(entry, take_refs()); }

  // The references of the blocks begun, every frame flushed; the sink is left empty.
  std::vector<repo::BlockRef> take_refs();

  // Records the file with its references, in file order, and their digest.
  void add_file(const repo::FileEntry& entry, const std::vector<repo::BlockRef>& refs);

  // Records a directory or a symbolic link.
  void record(const repo::FileEntry& entry) { t_.manifest->add(entry, {}); }

  // Commits the open pack, if any. Every file recorded must be followed by it.
  void finish() { close_pack(); }

  Target& target() { return t_; }

 private:
  void flush_frame();
  std::uint32_t translate_previous(std::uint32_t prev_no);
  void open_pack();
  void close_pack();

  Target& t_;
  repo::BlockCodec codec_;
  std::uint32_t block_bytes_;
  std::vector<std::size_t> frame_slots_;
  std::vector<repo::BlockId> frame_ids_;
  // The frame's plaintext: while its blocks lie end to end in the caller's memory (a full read
  // hands them so), a view of them; else a copy. Copying every block cost 2 % of a backup's CPU.
  ByteView frame_view_;
  Bytes frame_data_;
  std::vector<repo::BlockRef> refs_;
  std::vector<repo::BlockRef> prev_refs_;
  bool previous_known_ = true;
  std::unordered_map<std::uint32_t, std::uint32_t> translated_;  // previous pack number -> this one's
  std::unique_ptr<repo::PackWriter> pack_;
  std::uint32_t pack_no_ = 0;
};

}  // namespace pgdr::backup
