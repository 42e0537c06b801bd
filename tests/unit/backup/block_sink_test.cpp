#include "backup/block_sink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "../repo/repo_test_support.h"
#include "repo/block_reader.h"

namespace pgdr::backup {
namespace {

using repo::kDefaultBlockBytes;

constexpr const char* kSnapshot = "20261207T080000.000Z-5a1e";
constexpr const char* kPath = "base/5/16384";

// A sink writing into a real repository, and the file read back through the manifest it recorded:
// what restore would write.
class BlockSinkTest : public repo::test::OpenRepoTestBase {
 protected:
  void SetUp() override {
    OpenRepoTestBase::SetUp();
    target_.repo = repo_.get();
    target_.manifest = std::make_unique<repo::ManifestWriter>(repo_->store(), kSnapshot, repo_->key(), kDefaultBlockBytes);
  }

  // Hands the blocks to a sink chunk by chunk, as a worker hands its read buffer: one buffer,
  // refilled for each chunk, and filled with garbage once the sink is detached from it. An empty
  // block stands for a zero block.
  void write(const std::vector<Bytes>& blocks, const std::vector<std::size_t>& chunks) {
    BlockSink sink(target_, io::Codec::zstd, 2, harder_below_, kDefaultBlockBytes);
    sink.begin(kPath);
    Bytes buf;
    std::size_t next = 0;
    for (std::size_t n : chunks) {
      buf.assign(n * kDefaultBlockBytes, 0);
      for (std::size_t i = 0; i < n; ++i)
        if (!blocks[next + i].empty()) std::copy(blocks[next + i].begin(), blocks[next + i].end(), buf.begin() + i * kDefaultBlockBytes);
      for (std::size_t i = 0; i < n; ++i, ++next) {
        ByteView b = ByteView(buf).subspan(i * kDefaultBlockBytes, kDefaultBlockBytes);
        if (blocks[next].empty()) sink.zero_block();
        else {
          std::vector<repo::BlockId> ids;
          const io::Digest digest = io::Sha256::of(b);
          sink.name(std::span<const io::Digest>(&digest, 1), ids);
          sink.block(b, ids.at(0));
        }
      }
      sink.detach();
      std::fill(buf.begin(), buf.end(), 0xEE);
    }
    ASSERT_EQ(next, blocks.size());
    repo::FileEntry e;
    e.path = kPath;
    e.size_bytes = blocks.size() * kDefaultBlockBytes;
    e.block_count = blocks.size();
    sink.end(e);
    sink.finish();
    target_.manifest->commit();
  }

  Bytes read_back() {
    repo::ManifestIndex index(repo_->store(), kSnapshot, repo_->key());
    const auto* entry = index.find(kPath);
    EXPECT_NE(entry, nullptr);
    if (!entry) return {};
    std::vector<repo::BlockRef> refs = index.blocks(*entry);
    repo::BlockRead read;
    read.manifest = &index;
    read.refs = refs;
    read.bytes = refs.size() * kDefaultBlockBytes;
    read.file = kPath;
    read.snapshot = kSnapshot;
    Bytes out(read.bytes, 0x55);
    std::vector<io::Digest> digests(refs.size());
    repo::BlockReader reader(repo_->store(), repo_->key(), "test");
    reader.read_blocks(read, out.data(), digests);
    return out;
  }

  static Bytes expected(const std::vector<Bytes>& blocks) {
    Bytes out;
    for (const auto& b : blocks) {
      if (b.empty()) out.insert(out.end(), kDefaultBlockBytes, 0);
      else out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  }

  static std::vector<Bytes> distinct_blocks(std::size_t n) {
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(repo::test::mixed_data(kDefaultBlockBytes, static_cast<std::uint32_t>(i + 1)));
    return out;
  }

  Target target_;
  int harder_below_ = 0;
};

// Frames of 16 blocks are built from views of the buffer while blocks come end to end; a chunk
// that ends mid-frame must leave the frame a copy, or refilling the buffer would change blocks
// already named by their digests.
TEST_F(BlockSinkTest, FramesCrossingChunkEndsKeepTheBlocksGiven) {
  auto blocks = distinct_blocks(45);
  write(blocks, {5, 7, 1, 20, 12});
  EXPECT_EQ(read_back(), expected(blocks));
  EXPECT_EQ(target_.new_blocks.load(), 45u);
}

// A zero block breaks the run of adjacent blocks (as a block reused from the previous snapshot
// does): the frame goes on as a copy, in the chunk and across its end.
TEST_F(BlockSinkTest, ZeroBlocksBetweenNewOnesKeepEveryBlockInPlace) {
  auto blocks = distinct_blocks(30);
  blocks[3] = Bytes{};
  blocks[4] = Bytes{};
  blocks[17] = Bytes{};
  blocks[29] = Bytes{};
  write(blocks, {8, 8, 8, 6});
  EXPECT_EQ(read_back(), expected(blocks));
  EXPECT_EQ(target_.new_blocks.load(), 26u);
}

// One chunk holding whole frames: no copy at all, and the frames still hold what was given.
TEST_F(BlockSinkTest, WholeFramesInOneChunkAreSealedFromTheBuffer) {
  auto blocks = distinct_blocks(64);
  write(blocks, {64});
  EXPECT_EQ(read_back(), expected(blocks));
}

// Blocks that compress badly: every frame after the first is compressed harder, counted for the
// backup's report, and the file reads back the same.
TEST_F(BlockSinkTest, FramesAfterOnesThatCompressedBadlyAreCompressedHarderAndCounted) {
  auto blocks = distinct_blocks(3 * repo::kMaxFrameBlocks);
  harder_below_ = 5;
  write(blocks, {64, 64, 64});
  EXPECT_EQ(read_back(), expected(blocks));
  EXPECT_EQ(target_.frames.load(), 3u);
  EXPECT_EQ(target_.frames_harder.load(), 2u);
}

}  // namespace
}  // namespace pgdr::backup
