#include "backup/split_file.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace pgdr::backup {

SplitFile::SplitFile(std::uint64_t pieces, std::size_t repositories, std::uint64_t expected_blocks)
    : pending_(pieces), refs_(repositories), expected_blocks_(expected_blocks) {}

bool SplitFile::add(const Piece& piece, std::vector<std::vector<repo::BlockRef>> refs) {
  std::lock_guard lock(mu_);
  if (pending_ == 0) throw Error(ErrorKind::internal, "a piece handed in after the last one");
  if (refs.size() != refs_.size())
    throw Error(ErrorKind::internal, "a piece with references for " + std::to_string(refs.size()) +
                                         " repositories, expected " + std::to_string(refs_.size()));
  for (std::size_t t = 0; t < refs.size(); ++t) {
    auto& into = refs_[t];
    if (into.empty()) into.reserve(expected_blocks_);
    const std::uint64_t end = piece.first_block + refs[t].size();
    if (into.size() < end) into.resize(end);
    std::copy(refs[t].begin(), refs[t].end(), into.begin() + static_cast<std::ptrdiff_t>(piece.first_block));
  }
  size_bytes_ += piece.bytes_read;
  gone_ = gone_ || piece.gone;
  shrank_ = shrank_ || (!piece.last && piece.bytes_read != piece.bytes_wanted);
  return --pending_ == 0;
}

SplitFile::Outcome SplitFile::outcome() const {
  if (gone_) return Outcome::leave_out;
  if (shrank_) return Outcome::read_again;
  return Outcome::record;
}

std::vector<std::vector<repo::BlockRef>> SplitFile::take_refs() {
  std::vector<std::vector<repo::BlockRef>> out;
  out.swap(refs_);
  return out;
}

}  // namespace pgdr::backup
