#include "restore/slice_picker.h"

#include <algorithm>

#include "core/error.h"

namespace pgdr::restore {

SlicePicker::SlicePicker(const std::vector<std::uint64_t>& blocks, std::uint64_t slice_blocks)
    : slice_blocks_(slice_blocks) {
  if (slice_blocks == 0) throw Error(ErrorKind::internal, "slices of no blocks");
  files_.resize(blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    files_[i].blocks = blocks[i];
    slice_count_ += slices_in(blocks[i], slice_blocks);
    pending_.push_back(i);
  }
}

std::optional<SlicePicker::Slice> SlicePicker::next(const std::optional<Slice>& done) {
  std::lock_guard lock(mu_);
  if (done) {
    if (done->file >= files_.size() || files_[done->file].writers == 0)
      throw Error(ErrorKind::internal, "a slice handed back that was not handed out");
    --files_[done->file].writers;
  }
  if (pending_.empty()) return std::nullopt;
  // Busy files are at most one per worker, so the search stops after a few.
  auto it = std::find_if(pending_.begin(), pending_.end(), [&](std::size_t f) { return files_[f].writers == 0; });
  if (it == pending_.end()) it = pending_.begin();
  const std::size_t f = *it;
  File& file = files_[f];
  Slice s;
  s.file = f;
  s.first_block = file.next_block;
  s.blocks = std::min(slice_blocks_, file.blocks - file.next_block);
  file.next_block += s.blocks;
  ++file.writers;
  if (file.next_block == file.blocks) pending_.erase(it);
  return s;
}

}  // namespace pgdr::restore
