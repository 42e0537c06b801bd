// Packs: many frames in one object, so object stores see few large writes and reads. A pack ends
// with a sealed trailer listing every frame and the ids of its blocks, so a pack can be checked or
// salvaged on its own. The trailer is the only place in the repository that names a block: frames
// hold no ids, and manifests (version 4) record each block's pack, frame and index, by which a
// reader finds the id here (repo/trailer_ids.h).
//
//   pack    = frame* | trailer | trailer_length u32le | version u32le | "PGDRPACK"
//   trailer = AES-256-GCM(data key, block_size u32le | entry*, aad = "pgdr-v1 pack-trailer " | pack id)
//   entry   = frame offset u32le | frame length u32le | count u8 | raw_length u32le | block id (16) * count
//
// A PackWriter streams its pack to the storage frame by frame (nothing is visible until commit()),
// so it holds one frame in memory whatever the pack size; it belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "io/aead.h"
#include "repo/block_codec.h"
#include "storage/storage.h"

namespace pgdr::repo {

// One block of a pack, as its trailer lists it (expanded from the trailer's frame entries).
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

// A pack's trailer, opened: its blocks, frame after frame and by index in each.
struct PackTrailer {
  std::uint32_t block_bytes = 0;  // of every block but the last of a frame
  std::vector<PackEntry> entries;
  std::uint64_t stored_bytes = 0;  // of the sealed trailer and the tail, as read
};

class PackWriter {
 public:
  // block_bytes: the size of the blocks the pack will hold (the last of a frame may be shorter).
  PackWriter(storage::Storage& store, const MasterKey& key, std::string pack_id, std::uint32_t block_bytes);

  const std::string& pack_id() const { return pack_id_; }
  // Seals the blocks (ids, plaintexts concatenated in data, each full but maybe the last) into one
  // frame of the pack; returns one entry per block.
  std::vector<PackEntry> add_frame(BlockCodec& codec, const std::vector<BlockId>& ids, ByteView data);
  // Appends a frame of pack from_pack, sealed anew for its place here (content untouched), with
  // the trailer entries of all its blocks, by index; returns its offset in this pack. Used by
  // repacking. Throws Error(corrupt) "frame: <why>" for a frame that does not open.
  std::uint32_t copy_frame(BlockCodec& codec, ByteView sealed, std::string_view from_pack,
                           const std::vector<PackEntry>& blocks);
  std::uint64_t size_bytes() const { return size_; }
  std::size_t block_count() const { return entries_.size(); }
  // Appends the trailer and stores the pack durably under packs/. Returns the stored size.
  std::uint64_t commit();

 private:
  // Appends to the pack object, started at the first write.
  void append(ByteView bytes);

  storage::Storage& store_;
  std::string pack_id_;
  std::uint32_t block_bytes_;
  io::Aead aead_;
  std::unique_ptr<storage::Writer> out_;
  std::uint64_t size_ = 0;
  Bytes scratch_;  // the frame or trailer being sealed
  std::vector<PackEntry> entries_;
};

// The most a pack's trailer and tail can take for the given number of frames (full ones each):
// what a pack holding only needed frames may weigh beyond them.
std::uint64_t pack_overhead_bound(std::size_t frames);

// The version a pack's tail states (unauthenticated: for telling a pack of another format from a
// damaged one in messages); nullopt for a pack without a readable tail. Throws what the storage
// throws.
std::optional<std::uint32_t> pack_version(const storage::Storage& store, const std::string& pack_id);

// Reads and authenticates a pack's trailer. Throws CorruptPack.
PackTrailer read_pack_trailer(const storage::Storage& store, const MasterKey& key, const std::string& pack_id);
// The same for a whole pack already in memory (repack reads each pack once); where names the
// repository in messages.
PackTrailer parse_pack_trailer(ByteView pack, const MasterKey& key, const std::string& pack_id,
                               const std::string& where);

}  // namespace pgdr::repo
