// What pack_test.cpp and pack_trailer_test.cpp share: the layout of a pack's tail and trailer as
// repo/pack.h documents it, rows of a trailer built field by field, and a fixture that stores a
// pack whose trailer is sealed by hand (authentic, whatever it says) and checks both trailer
// readers' refusals.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/little_endian.h"
#include "io/aead.h"
#include "repo/format.h"
#include "repo/pack.h"
#include "repo_test_support.h"

namespace pgdr::repo::test_pack {

constexpr std::size_t kTailBytes = 16;  // trailer_length u32 | version u32 | "PGDRPACK"
constexpr std::uint32_t kVersion = 3;   // what this pgdr writes and reads

constexpr std::uint32_t kBlockBytes = 8192;
constexpr std::size_t kBlockSizeBytes = 4;   // block_size u32, at the start of the trailer
constexpr std::size_t kFrameEntryBytes = 13;  // offset u32 | length u32 | count u8 | raw_length u32
constexpr std::size_t kIdBytes = 16;          // then one id per block of the frame

// The sealed length of a trailer for frames of the given block counts, as pack.h lays it out.
inline std::size_t sealed_trailer_bytes(const std::vector<std::size_t>& counts) {
  std::size_t n = io::kAeadOverheadBytes + kBlockSizeBytes;
  for (std::size_t c : counts) n += kFrameEntryBytes + kIdBytes * c;
  return n;
}

// An id that is easy to tell apart when read back: every byte is tag.
inline BlockId tagged_id(std::uint8_t tag) {
  BlockId id;
  id.fill(tag);
  return id;
}
inline std::vector<BlockId> tagged_ids(std::size_t n, std::uint8_t first_tag) {
  std::vector<BlockId> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(tagged_id(static_cast<std::uint8_t>(first_tag + i)));
  return out;
}

// One frame entry of a trailer, field by field; count is separate from ids so a test can make
// them disagree.
inline Bytes entry_row(std::uint32_t offset, std::uint32_t length, std::uint8_t count, std::uint32_t raw_length,
                const std::vector<BlockId>& ids) {
  Bytes e;
  put_u32le(e, offset);
  put_u32le(e, length);
  e.push_back(count);
  put_u32le(e, raw_length);
  for (const auto& id : ids) e.insert(e.end(), id.begin(), id.end());
  return e;
}
// An entry whose count is that of its ids (first_tag, first_tag + 1, ...).
inline Bytes entry_row(std::uint32_t offset, std::uint32_t length, std::uint8_t count, std::uint32_t raw_length,
                std::uint8_t first_tag = 1) {
  return entry_row(offset, length, count, raw_length, tagged_ids(count, first_tag));
}
// A trailer's plaintext: the block size, then the entries.
inline Bytes trailer_table(std::uint32_t block_bytes, const std::vector<Bytes>& rows) {
  Bytes t;
  put_u32le(t, block_bytes);
  for (const auto& r : rows) t.insert(t.end(), r.begin(), r.end());
  return t;
}

class PackFixture : public test::RepoTestBase {
 protected:
  // Stores a pack made by hand: body, then table sealed with the real key and the trailer aad (so
  // it authenticates, whatever it says), then the tail with version.
  void write_with_table(const std::string& id, const Bytes& body, const Bytes& table, std::uint32_t version = kVersion) {
    Bytes pack = body;
    io::Aead aead(key_.data_key().view());
    std::size_t before = pack.size();
    aead.seal(table, to_bytes(std::string(kAadPackTrailer) + id), pack);
    put_u32le(pack, static_cast<std::uint32_t>(pack.size() - before));
    put_u32le(pack, version);
    for (char ch : std::string("PGDRPACK")) pack.push_back(static_cast<std::uint8_t>(ch));
    put_raw(pack_object(id), pack);
  }

  std::string corrupt(const std::string& pack_id, const std::string& why, const std::string& where) const {
    return "corrupt pack " + pack_object(pack_id) + " in " + where + " (" + why + ")";
  }
  std::string corrupt(const std::string& pack_id, const std::string& why) const {
    return corrupt(pack_id, why, store_.describe());
  }
  // Both ways of reading a trailer refuse the stored pack with why: from the storage, and from the
  // whole pack in memory (as repack reads it), each a CorruptPack carrying its object and detail.
  void expect_trailer_corrupt(const std::string& pack_id, const std::string& why, const MasterKey& key) {
    Error e = test::error_of([&] { read_pack_trailer(store_, key, pack_id); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), corrupt(pack_id, why));
    const Bytes pack = raw(pack_object(pack_id));
    try {
      parse_pack_trailer(pack, key, pack_id, "memory");
      ADD_FAILURE() << "parse_pack_trailer accepted a pack refused with: " << why;
    } catch (const CorruptPack& c) {
      EXPECT_EQ(c.kind(), ErrorKind::corrupt);
      EXPECT_EQ(std::string(c.what()), corrupt(pack_id, why, "memory"));
      EXPECT_EQ(c.object(), pack_object(pack_id));
      EXPECT_EQ(c.detail(), why);
    }
  }
  void expect_trailer_corrupt(const std::string& pack_id, const std::string& why) {
    expect_trailer_corrupt(pack_id, why, key_);
  }
  // A trailer made of rows, authentic, after a body of 100 bytes of fill.
  struct Rows {
    std::string what;
    std::vector<Bytes> rows;
  };
  // Each case's trailer, written as pack_id, is refused for why.
  void expect_each_refused(const std::string& pack_id, const std::vector<Rows>& cases, const std::string& why,
                           std::uint8_t fill = 0) {
    for (const auto& c : cases) {
      SCOPED_TRACE(c.what);
      write_with_table(pack_id, Bytes(100, fill), trailer_table(kBlockBytes, c.rows));
      expect_trailer_corrupt(pack_id, why);
    }
  }
};

}  // namespace pgdr::repo::test_pack
