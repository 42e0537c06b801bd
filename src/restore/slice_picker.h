// Hands out the slices of a restore's files to its workers so that, while several files are left,
// no two workers write the same file: a worker takes the next slice of the first file (in the
// order given, largest first) that no worker is writing, and shares a file only when every file
// left is being written. Two writers of one file contend for its inode lock, which ext4 holds for
// the whole of each buffered write: with slices handed out in file order, both workers of a
// 2-worker restore wrote the same 1 GiB segment most of the time, and the waiting one spun on the
// lock (14 % of a pgbench restore's CPU in rwsem_spin_on_owner).
//
// A worker that keeps taking slices keeps writing its file, so about as many files are open at
// once as there are workers. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <vector>

namespace pgdr::restore {

class SlicePicker {
 public:
  struct Slice {
    std::size_t file = 0;  // index into the block counts given
    std::uint64_t first_block = 0;
    std::uint64_t blocks = 0;  // 0 only for an empty file's one slice
  };

  // blocks[i]: the block count of file i; slice_blocks: the most blocks a slice holds.
  SlicePicker(const std::vector<std::uint64_t>& blocks, std::uint64_t slice_blocks);

  // The slices of a file of `blocks` blocks: one per slice_blocks blocks, one for an empty file.
  static std::size_t slices_in(std::uint64_t blocks, std::uint64_t slice_blocks) {
    return blocks == 0 ? 1 : static_cast<std::size_t>((blocks + slice_blocks - 1) / slice_blocks);
  }

  // Every slice of every file.
  std::size_t slice_count() const { return slice_count_; }

  // The next slice for a worker whose previous slice was done (none for its first call); nothing
  // once every slice is handed out. A file's slices are handed out in block order.
  std::optional<Slice> next(const std::optional<Slice>& done);

 private:
  struct File {
    std::uint64_t blocks = 0;
    std::uint64_t next_block = 0;
    int writers = 0;
  };

  std::mutex mu_;
  const std::uint64_t slice_blocks_;
  std::vector<File> files_;
  std::list<std::size_t> pending_;  // files with slices left, in the order given
  std::size_t slice_count_ = 0;
};

}  // namespace pgdr::restore
