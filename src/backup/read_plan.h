// What a snapshot reads of one file when a change map (pg/change_map.h) says which relation
// blocks changed since the previous snapshot's start: every block the map names, every block past
// the end the previous snapshot recorded, and nothing else — the rest is taken, reference for
// reference, from the previous snapshot's manifest. Whenever the map cannot vouch for a block the
// whole file is read: files that are not main relation forks (free space and visibility maps
// change in ways no block reference names; init forks are small), a fork created, truncated or dropped at or below the file's blocks, a database
// created or dropped as a whole, a file new since the previous snapshot or shorter than it was,
// and sizes that are not whole blocks. For speed, a few unchanged blocks between two changed ones
// are read too, and a file with most blocks to read is read whole. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/change_map.h"

namespace pgdr::backup {

// A relation file named by its manifest path: base/<db>/<rel>[_fork][.<segment>],
// global/<rel>..., pg_tblspc/<spc>/<version dir>/<db>/<rel>...
struct RelationFile {
  pg::RelationFork fork;
  std::uint32_t segment = 0;
};
std::optional<RelationFile> relation_file_of(const std::string& manifest_path);

struct ReadPlan {
  bool whole = true;
  std::uint64_t file_blocks = 0;  // not whole: the file's blocks, read or taken from before
  // Not whole: the repository blocks (of block_bytes each) to read, in increasing order.
  std::vector<std::uint64_t> blocks;
};

// size_bytes: the file's size now. previous_size: the smallest size any previous snapshot of the
// targets recorded for the path, nullopt when one of them lacks it.
ReadPlan plan_read(const pg::ChangeMap& map, const std::string& manifest_path, std::uint64_t size_bytes,
                   std::optional<std::uint64_t> previous_size, std::uint32_t block_bytes);

}  // namespace pgdr::backup
