// The pieces of one big file (work_items.h) are read by different workers, in any order. Each
// hands its block references in here, and the worker that hands in the last piece records the
// file, joining the references in file order. Bookkeeping only: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "repo/manifest.h"

namespace pgdr::backup {

class SplitFile {
 public:
  // expected_blocks sizes each repository's list when the first piece comes in, not here: the
  // run makes every split file's SplitFile before it starts, and only the files being read may
  // hold references (the memory bound counts at most process_max + 1 files in hand).
  SplitFile(std::uint64_t pieces, std::size_t repositories, std::uint64_t expected_blocks = 0);

  struct Piece {
    std::uint64_t first_block = 0;
    bool last = false;               // reads to the end of the file, however long it is by then
    std::uint64_t bytes_wanted = 0;  // a piece before the last: its length
    std::uint64_t bytes_read = 0;
    bool gone = false;               // the file was no longer there to open
  };

  // Hands in one piece with its references, one list per repository (all of one length). True
  // for the call that hands in the last piece still missing: that caller alone then calls
  // outcome(), size_bytes() and take_refs(). Thread-safe.
  bool add(const Piece& piece, std::vector<std::vector<repo::BlockRef>> refs);

  enum class Outcome {
    record,      // the pieces make the file: size_bytes() long, take_refs() its blocks
    read_again,  // a piece before the last read short: the file shrank while its pieces were
                 // read, so their references do not describe one file
    leave_out,   // a piece found the file removed (WAL replay accounts for a dropped relation)
  };
  Outcome outcome() const;
  std::uint64_t size_bytes() const { return size_bytes_; }
  // The references per repository, in file order.
  std::vector<std::vector<repo::BlockRef>> take_refs();

 private:
  std::mutex mu_;
  std::uint64_t pending_;                         // pieces not handed in yet
  std::vector<std::vector<repo::BlockRef>> refs_;  // per repository, in file order
  std::uint64_t expected_blocks_;
  std::uint64_t size_bytes_ = 0;
  bool shrank_ = false;
  bool gone_ = false;
};

}  // namespace pgdr::backup
