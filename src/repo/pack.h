// Packs: many frames in one object, so object stores see few large writes and reads. A pack ends
// with a sealed trailer listing every block of its frames, so a pack can be checked or salvaged on
// its own; restore never needs the trailer (manifests record each block's pack, frame and index).
//
//   pack    = frame* | trailer | trailer_length u32le | version u32le | "PGDRPACK"
//   trailer = AES-256-GCM(data key, entry*, aad = "pgdr-v1 pack-trailer " | pack id)
//   entry   = block id (32) | frame offset u32le | frame length u32le | index in frame u16le |
//             raw_length u32le
//
// A PackWriter streams its pack to the storage frame by frame (nothing is visible until commit()),
// so it holds one frame in memory whatever the pack size; it belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "io/aead.h"
#include "repo/block_codec.h"
#include "storage/storage.h"

namespace pgdr::repo {

struct PackEntry {
  BlockId id;
  std::uint32_t offset = 0;  // of the frame holding the block
  std::uint32_t length = 0;  // of that frame
  std::uint16_t index = 0;   // of the block in the frame
  std::uint32_t raw_length = 0;
};

// Error(corrupt) "corrupt pack <object> in <where> (<detail>)", for a pack that fails a check. It
// carries the object and the detail (the text in parentheses), so that a caller collecting
// findings (verify) reports them without parsing the message. A damaged frame's detail is made by
// repo/block_reader.h's frame_damage() alone.
class CorruptPack : public Error {
 public:
  CorruptPack(const std::string& pack_id, const std::string& where, std::string detail);
  const std::string& object() const noexcept { return object_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string object_;
  std::string detail_;
};

// A new random pack id: 32 lower-case hex digits.
std::string new_pack_id();

class PackWriter {
 public:
  PackWriter(storage::Storage& store, const MasterKey& key, std::string pack_id);

  const std::string& pack_id() const { return pack_id_; }
  // Seals the blocks (ids, plaintexts concatenated in data, each full but maybe the last) into one
  // frame of the pack; returns one entry per block.
  std::vector<PackEntry> add_frame(BlockCodec& codec, const std::vector<BlockId>& ids, ByteView data,
                                   std::uint32_t block_bytes);
  // Appends a frame sealed earlier, byte for byte (a frame's AAD names no pack and no position),
  // with the trailer entries of its blocks; returns its offset in this pack. Used by repacking.
  std::uint32_t copy_frame(ByteView sealed, const std::vector<PackEntry>& blocks);
  std::uint64_t size_bytes() const { return size_; }
  std::size_t block_count() const { return entries_.size(); }
  // Appends the trailer and stores the pack durably under packs/. Returns the stored size.
  std::uint64_t commit();

 private:
  // Appends to the pack object, started at the first write.
  void append(ByteView bytes);

  storage::Storage& store_;
  std::string pack_id_;
  io::Aead aead_;
  std::unique_ptr<storage::Writer> out_;
  std::uint64_t size_ = 0;
  Bytes scratch_;  // the frame or trailer being sealed
  std::vector<PackEntry> entries_;
};

// The most a pack's trailer and tail can take for the given number of frames (16 blocks each):
// what a pack holding only needed frames may weigh beyond them.
std::uint64_t pack_overhead_bound(std::size_t frames);

// Reads and authenticates a pack's trailer. Throws CorruptPack.
std::vector<PackEntry> read_pack_trailer(const storage::Storage& store, const MasterKey& key,
                                         const std::string& pack_id);
// The same for a whole pack already in memory (verify reads each pack once); where names the
// repository in messages.
std::vector<PackEntry> parse_pack_trailer(ByteView pack, const MasterKey& key, const std::string& pack_id,
                                          const std::string& where);

}  // namespace pgdr::repo
