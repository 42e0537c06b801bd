#include "verify/proven_blocks.h"

#include <algorithm>
#include <type_traits>

#include "core/error.h"

namespace pgdr::verify {

// Spooled as they are in memory: the file lives and dies with this process.
static_assert(std::is_trivially_copyable_v<ProvenBlock>);
// verify.md and ARCHITECTURE.md state the spool's bytes per block.
static_assert(sizeof(ProvenBlock) == 24);

namespace {

bool before(const ProvenBlock& a, std::uint32_t offset, std::uint16_t index) {
  return a.offset != offset ? a.offset < offset : a.index < index;
}

}  // namespace

ProvenBlocks::ProvenBlocks(std::size_t packs) : spool_(open_spool()), extents_(packs) {}

void ProvenBlocks::add(std::uint32_t pack_no, std::vector<ProvenBlock> blocks) {
  // Verify adds them in the trailer's order, which is already this one: checked, not re-sorted.
  auto order = [](const ProvenBlock& a, const ProvenBlock& b) { return before(a, b.offset, b.index); };
  if (!std::is_sorted(blocks.begin(), blocks.end(), order)) std::sort(blocks.begin(), blocks.end(), order);
  const std::size_t bytes = blocks.size() * sizeof(ProvenBlock);
  std::lock_guard<std::mutex> g(mu_);
  spool_.pwrite_all(ByteView(reinterpret_cast<const std::uint8_t*>(blocks.data()), bytes), spool_size_);
  extents_.at(pack_no) = {spool_size_, blocks.size()};
  spool_size_ += bytes;
  count_ += blocks.size();
}

std::uint64_t ProvenBlocks::count() const {
  std::lock_guard<std::mutex> g(mu_);
  return count_;
}

const std::vector<ProvenBlock>& ProvenBlocks::Lookup::blocks_of(std::uint32_t pack_no) {
  for (std::size_t i = 0; i < kept_.size(); ++i) {
    if (kept_[i].first != pack_no) continue;
    std::rotate(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(i), kept_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    return kept_.front().second;
  }
  Extent e;
  {
    std::lock_guard<std::mutex> g(all_.mu_);
    e = all_.extents_.at(pack_no);
  }
  std::vector<ProvenBlock> blocks(e.count);
  const std::size_t bytes = blocks.size() * sizeof(ProvenBlock);
  if (bytes > 0 && all_.spool_.read_at(blocks.data(), bytes, e.at) != bytes)
    throw Error(ErrorKind::io, "verify's spool of proven blocks is short");
  if (kept_.size() == kPacksKept) kept_.pop_back();
  kept_.insert(kept_.begin(), {pack_no, std::move(blocks)});
  return kept_.front().second;
}

const ProvenBlock* ProvenBlocks::Lookup::find(std::uint32_t pack_no, std::uint32_t offset, std::uint16_t index) {
  const auto& blocks = blocks_of(pack_no);
  // A file's blocks mostly follow each other in its pack: the one after the last found first.
  if (pack_no == cursor_pack_ && cursor_ < blocks.size() && blocks[cursor_].offset == offset &&
      blocks[cursor_].index == index)
    return &blocks[cursor_++];
  auto it = std::lower_bound(blocks.begin(), blocks.end(), std::pair{offset, index},
                             [](const ProvenBlock& b, const std::pair<std::uint32_t, std::uint16_t>& k) {
                               return before(b, k.first, k.second);
                             });
  if (it == blocks.end() || it->offset != offset || it->index != index) return nullptr;
  cursor_pack_ = pack_no;
  cursor_ = static_cast<std::size_t>(it - blocks.begin()) + 1;
  return &*it;
}

}  // namespace pgdr::verify
