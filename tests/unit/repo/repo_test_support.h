// Shared by the repository format tests: a scratch directory behind a real PosixStorage, raw access
// to stored objects so a test can damage them the way a disk or a person would, and a way to catch
// the Error a call throws so its kind and exact message can be asserted.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../storage/temp_dir.h"
#include "core/bytes.h"
#include "core/error.h"
#include "io/kdf.h"
#include "repo/format.h"
#include "repo/keys.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::repo::test {

// The tests exercise the format, not the work factor: the cheapest parameters scrypt accepts.
inline constexpr io::ScryptParams kFastScrypt{16, 1, 1};

// The Error f throws; records a test failure (and returns an internal error) when it throws none.
template <typename F>
Error error_of(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an Error, none was thrown";
  return Error(ErrorKind::internal, "<no error thrown>");
}

inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// Bytes that look like a database: runs of zeros, repeated text and random stretches, so both the
// compressing and the stored-as-is paths are taken.
inline Bytes mixed_data(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out;
  out.reserve(n);
  static constexpr std::string_view kText = "INSERT INTO accounts VALUES (42, 'alice', 1000.00);\n";
  while (out.size() < n) {
    std::size_t run = std::min<std::size_t>(n - out.size(), 1000 + rng() % 30000);
    switch (rng() % 3) {
      case 0:
        out.insert(out.end(), run, 0);
        break;
      case 1:
        for (std::size_t i = 0; i < run; ++i) out.push_back(static_cast<std::uint8_t>(kText[i % kText.size()]));
        break;
      default:
        for (std::size_t i = 0; i < run; ++i) out.push_back(static_cast<std::uint8_t>(rng()));
        break;
    }
  }
  return out;
}

inline Bytes random_data(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// The blocks one after another, as a frame holds them.
inline Bytes concat(const std::vector<Bytes>& blocks) {
  Bytes out;
  for (const auto& b : blocks) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// A pack of `frames` frames of per_frame random blocks (they do not compress, so frame lengths
// are predictable), committed under pack_id: each frame's refs (pack number pack_no, ids of the
// blocks' content) and every block, frame after frame.
struct RandomPack {
  std::vector<std::vector<BlockRef>> frames;
  std::vector<Bytes> blocks;
  std::vector<BlockRef> refs() const {
    std::vector<BlockRef> out;
    for (const auto& f : frames) out.insert(out.end(), f.begin(), f.end());
    return out;
  }
};
inline RandomPack write_random_pack(storage::Storage& store, const MasterKey& key, BlockCodec& codec,
                                    const std::string& pack_id, std::uint32_t pack_no, std::size_t frames,
                                    std::size_t per_frame, std::uint32_t seed, std::uint32_t block_bytes = 8192) {
  RandomPack p;
  PackWriter w(store, key, pack_id, block_bytes);
  for (std::size_t f = 0; f < frames; ++f) {
    std::vector<BlockId> ids;
    Bytes data;
    for (std::size_t b = 0; b < per_frame; ++b) {
      Bytes block = random_data(block_bytes, seed++);
      ids.push_back(codec.id_of(block));
      data.insert(data.end(), block.begin(), block.end());
      p.blocks.push_back(std::move(block));
    }
    std::vector<BlockRef> refs;
    for (const PackEntry& e : w.add_frame(codec, ids, data)) refs.push_back({e.id, pack_no, e.offset, e.length, e.index});
    p.frames.push_back(std::move(refs));
  }
  w.commit();
  return p;
}

// The manifest of snapshot_id: the packs declared in order, then one file at path whose blocks
// are refs (its digest a placeholder).
inline void write_one_file_manifest(storage::Storage& store, const MasterKey& key, const std::string& snapshot_id,
                                    const std::vector<std::string>& packs, const std::string& path,
                                    const std::vector<BlockRef>& refs, std::uint32_t block_bytes = 8192) {
  ManifestWriter m(store, snapshot_id, key, block_bytes);
  for (const auto& p : packs) m.declare_pack(p);
  FileEntry f;
  f.path = path;
  f.size_bytes = refs.size() * block_bytes;
  f.block_count = refs.size();
  f.sha256 = std::string(64, '0');
  m.add(f, refs);
  m.commit();
}

class RepoTestBase : public ::testing::Test {
 protected:
  // The object's stored bytes; fails the test when it does not exist.
  Bytes raw(const std::string& object) const {
    auto b = store_.read(object);
    EXPECT_TRUE(b.has_value()) << "no object " << object;
    return b.value_or(Bytes{});
  }
  void put_raw(const std::string& object, ByteView data) { store_.write_all(object, data); }
  // Flips every bit of one stored byte, as a bad sector or a careless edit would.
  void flip_byte(const std::string& object, std::size_t offset) {
    Bytes b = raw(object);
    ASSERT_LT(offset, b.size());
    b[offset] ^= 0xff;
    put_raw(object, b);
  }
  // Keeps only the first keep_bytes, as an interrupted copy would.
  void cut(const std::string& object, std::size_t keep_bytes) {
    Bytes b = raw(object);
    ASSERT_LE(keep_bytes, b.size());
    b.resize(keep_bytes);
    put_raw(object, b);
  }

  pgdr::test::TempDir dir_;
  storage::PosixStorage store_{dir_.path()};
  MasterKey key_ = MasterKey::generate();
};

// A created and opened repository (passphrase "pass") in the scratch directory.
class OpenRepoTestBase : public RepoTestBase {
 protected:
  void SetUp() override {
    Repository::create(store_, "main", "pass", kDefaultBlockBytes, kDefaultPackTargetBytes);
    repo_ = std::make_unique<Repository>(
        Repository::open(std::make_unique<storage::PosixStorage>(dir_.path()), "main", "pass", "test"));
  }
  const Repository& repo() const { return *repo_; }
  std::unique_ptr<Repository> repo_;
};

}  // namespace pgdr::repo::test
