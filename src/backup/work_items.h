// How a backup shares its files out among its worker threads: largest first, and a big file that
// is read whole cut into pieces any worker can take, so that a database that is mostly one big
// table keeps every worker busy instead of leaving one alone with it at the end. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pgdr::backup {

struct FileToShare {
  std::uint64_t size_bytes = 0;  // what there is to read of it: all, or the blocks a change map names
  bool splittable = false;       // read whole from disk (not by a change map's plan, not from memory)
};

// One file, or one piece of it: blocks [first_block, first_block + blocks), the last piece
// (blocks 0) reading to the file's end, however long it is by then.
struct WorkItem {
  std::size_t file = 0;  // index into the files shared out
  std::uint64_t first_block = 0;
  std::uint64_t blocks = 0;  // 0: to the end of the file
  std::uint64_t pieces = 1;  // pieces the file is cut into; 1: read whole
};

// The piece size for a run of total_bytes on `workers` threads: an eighth of a worker's share,
// from 32 MiB to 1 GiB, a whole number of MiB. Each piece starts a new stream for the kernel's
// readahead (about 5 ms of reading lost each at pgbench scale 2000, where 32 MiB pieces made a
// full backup 25 % slower), so pieces are as large as balancing the workers allows, and a run
// of 1 GiB segments large enough to balance on its own is not cut at all.
std::uint64_t piece_bytes(std::uint64_t total_bytes, int workers);

// The work items of files, largest file first (ties in the order given); the pieces of a file
// are consecutive, so at most workers + 1 files are being read at any time.
std::vector<WorkItem> share_out(const std::vector<FileToShare>& files, int workers, std::uint32_t block_bytes);

}  // namespace pgdr::backup
