// Block for block, what a snapshot recorded for one relation file against the file on disk: the
// ids the repository's key gives the file's blocks now, computed here, compared with the ids in
// the snapshot's manifest, in order. A file recorded out of order, with a block missing or
// with a hole, differs.
#pragma once

#include <fcntl.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/file.h"
#include "pgdr_fixture.h"
#include "repo/block_codec.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::test {

struct RecordedBlocks {
  bool found = false;                 // the manifest has the file
  std::uint64_t recorded_bytes = 0;  // its size as recorded
  std::size_t recorded = 0;          // blocks recorded
  std::size_t on_disk = 0;           // blocks in the file now
  std::size_t unlike = 0;            // positions whose recorded block is not the one on disk
};

// rel: the file's path under the data directory, as pg_relation_filepath() gives it.
inline RecordedBlocks recorded_blocks(const std::string& repo_dir, const std::string& snapshot,
                                      const std::string& data_dir, const std::string& rel) {
  auto repo = repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir), "local", kPassphrase,
                                     "the test");
  repo::BlockCodec codec(repo.key(), io::Codec::zstd, 2);
  std::vector<repo::BlockId> disk;
  File f = File::open(data_dir + "/" + rel, O_RDONLY);
  Bytes block(8192);
  for (std::uint64_t off = 0;; off += block.size()) {
    std::size_t got = f.read_at(block.data(), block.size(), off);
    if (got == 0) break;
    block.resize(got);
    disk.push_back(codec.id_of(block));
    if (got < 8192) break;
  }
  RecordedBlocks r;
  r.on_disk = disk.size();
  repo::ManifestIndex index(repo.store(), snapshot, repo.key());
  const auto* e = index.find(rel);
  if (!e) return r;
  r.found = true;
  r.recorded_bytes = e->file.size_bytes;
  auto refs = index.blocks(*e);
  r.recorded = refs.size();
  for (std::size_t i = 0; i < refs.size(); ++i)
    if (i >= disk.size() || refs[i].is_zero() || refs[i].id != disk[i]) ++r.unlike;
  return r;
}

// Expects the snapshot to record the relation file rel of rel_bytes whole, every block as the file
// holds it now.
inline void expect_recorded_as_on_disk(const std::string& repo_dir, const std::string& snapshot,
                                       const std::string& data_dir, const std::string& rel, std::uint64_t rel_bytes) {
  auto r = recorded_blocks(repo_dir, snapshot, data_dir, rel);
  ASSERT_TRUE(r.found) << rel;
  EXPECT_EQ(r.recorded_bytes, rel_bytes);
  ASSERT_EQ(r.on_disk, rel_bytes / 8192);
  ASSERT_EQ(r.recorded, r.on_disk);
  EXPECT_EQ(r.unlike, 0u) << "of " << r.recorded << " blocks";
}

// The number of pieces `pgdr -v backup` said it read the file at rel in (its stderr is err); 0
// when it did not say the file was read in pieces.
inline int pieces_logged(const std::string& err, const std::string& rel) {
  const std::string said = rel + ": read in ";
  auto at = err.find(said);
  if (at == std::string::npos) return 0;
  return std::atoi(err.c_str() + at + said.size());
}

}  // namespace pgdr::test
