// Snapshot manifests: every file, directory and symlink of a snapshot with its metadata, SHA-256
// and the list of blocks (pack, offset, length) that rebuild it. Stored as a sealed object
// (sealed_stream.h) whose logical stream is a sequence of records:
//
//   record = type u8 | length u32le | payload
//   'H' header   JSON {"format": "pgdr-manifest", "version": 4, "snapshot": id, "block_size": n}
//   'P' pack     pack number u32le | pack id (16 bytes); declared before any block refers to it
//   'F' entry    JSON of one FileEntry; its blocks follow in 'B' records
//   'B' blocks   up to 65536 BlockRefs of the preceding entry, 16 bytes each:
//                pack number u32le | frame offset u32le | frame length u32le |
//                index in frame u16le | reserved u16 (0)
//                (pack number 0xffffffff: an all-zero block, stored nowhere)
//   'E' end      JSON {"entries": n, "blocks": n}; nothing may follow
//
// A reference locates a block; its id is in the pack's trailer (repo/trailer_ids.h). Version 3,
// still read, put the 16-byte id in front of each reference (32 bytes).
//
// ManifestWriter is thread-safe (backup workers add entries concurrently). ManifestIndex reads a
// whole manifest once, keeps entry metadata in memory and spools block lists to an unlinked temp
// file, so memory stays flat however many blocks a snapshot has; its const methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/file.h"
#include "repo/block_codec.h"
#include "repo/file_digest.h"
#include "repo/keys.h"
#include "repo/sealed_stream.h"
#include "repo/trailer_ids.h"
#include "storage/storage.h"

namespace pgdr::repo {

inline constexpr std::uint32_t kZeroPack = 0xffffffffu;

enum class EntryType : std::uint8_t { file = 1, directory = 2, symlink = 3 };

struct FileEntry {
  std::string path;  // relative to PGDATA, '/'-separated; tablespaces under pg_tblspc/<oid>/
  EntryType type = EntryType::file;
  std::uint32_t mode = 0600;
  std::uint64_t size_bytes = 0;
  std::int64_t mtime = 0;       // seconds since the epoch
  std::string sha256;           // hex, files only: repo/file_digest.h
  std::string link_target;      // symlinks only
  std::uint64_t block_count = 0;
};

struct BlockRef {
  BlockId id{};  // written to no manifest since version 4: ManifestIndex::blocks() reads it from the trailer
  std::uint32_t pack = kZeroPack;
  std::uint32_t offset = 0;  // of the frame
  std::uint32_t length = 0;  // of the frame
  std::uint16_t index = 0;   // of the block in the frame
  bool is_zero() const { return pack == kZeroPack; }
};

class ManifestWriter {
 public:
  ManifestWriter(storage::Storage& store, const std::string& snapshot_id, const MasterKey& key,
                 std::uint32_t block_bytes);
  // Returns the number that block refs use for this pack.
  std::uint32_t declare_pack(const std::string& pack_id);
  void add(const FileEntry& entry, const std::vector<BlockRef>& blocks);
  // Writes the end record and commits the object. Returns its stored size.
  std::uint64_t commit();

 private:
  void record(char type, ByteView payload);

  std::mutex mu_;
  SealedWriter out_;
  std::uint32_t packs_ = 0;
  std::uint64_t entries_ = 0;
  std::uint64_t blocks_ = 0;
};

class ManifestIndex {
 public:
  struct Entry {
    FileEntry file;
    std::uint64_t spool_offset = 0;  // of its BlockRefs in the spool
  };

  // Reads and checks the manifest of snapshot_id. Throws Error(corrupt) naming the snapshot.
  // store and key must outlive the index (blocks() reads pack trailers with them); where names
  // the repository in blocks()' messages (default: the storage's description).
  ManifestIndex(const storage::Storage& store, const std::string& snapshot_id, const MasterKey& key,
                std::string where = {}, std::size_t trailer_budget = kTrailerIdsBudget);
  ~ManifestIndex();

  std::uint32_t block_bytes() const { return block_bytes_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& pack_id(std::uint32_t pack_no) const;
  std::size_t pack_count() const { return packs_.size(); }
  // The entry at path, or nullptr.
  const Entry* find(const std::string& path) const;
  // The references of e with their block ids (from the packs' trailers: throws what
  // TrailerIds::resolve throws).
  std::vector<BlockRef> blocks(const Entry& e) const;
  // Refs [first, first + count) of e, for reading a big file in slices.
  std::vector<BlockRef> blocks(const Entry& e, std::uint64_t first, std::uint64_t count) const;
  // The same without ids (left zero), for readers that only need where blocks are (expire,
  // repack, verify's second pass): no trailer is read.
  std::vector<BlockRef> locations(const Entry& e) const;
  std::vector<BlockRef> locations(const Entry& e, std::uint64_t first, std::uint64_t count) const;
  // The manifest's format version (3 or 4).
  int version() const { return version_; }
  // Pack trailers read for ids so far.
  std::uint64_t trailers_read() const { return ids_ ? ids_->trailers_read() : 0; }

 private:
  std::size_t ref_bytes() const;

  std::string snapshot_id_;
  int version_ = 0;
  std::uint32_t block_bytes_ = 0;
  std::vector<std::string> packs_;
  std::vector<Entry> entries_;
  std::vector<std::size_t> by_path_;  // indexes into entries_, sorted by path
  File spool_;
  std::unique_ptr<TrailerIds> ids_;  // version 4 only
};

// Checks a path read from a manifest before anything is written with it: relative, no "..", no
// empty or "." segment. Throws Error(corrupt) naming the snapshot.
void check_manifest_path(const std::string& snapshot_id, const std::string& path);

}  // namespace pgdr::repo
