#include "backup/block_sink.h"

#include "core/error.h"
#include "repo/file_digest.h"

namespace pgdr::backup {

using repo::BlockId;
using repo::BlockRef;

BlockSink::BlockSink(Target& target, io::Codec codec, int compress_level, int compress_harder_below,
                     std::uint32_t block_bytes)
    : t_(target), codec_(target.repo->key(), codec, compress_level, compress_harder_below), block_bytes_(block_bytes) {}

void BlockSink::begin(const std::string& path, std::uint64_t first_block, std::uint64_t blocks) {
  refs_.clear();
  prev_refs_.clear();
  previous_known_ = true;
  if (!t_.previous) return;
  const auto* p = t_.previous->find(path);
  if (!p || p->file.type != repo::EntryType::file) return;
  try {
    prev_refs_ = t_.previous->blocks(*p, first_block, blocks);
  } catch (const Error& e) {
    // The ids are in the packs' trailers: one that cannot be read leaves nothing to compare with.
    if (e.kind() != ErrorKind::not_found && e.kind() != ErrorKind::corrupt) throw;
    t_.previous_unreadable(e);
    previous_known_ = false;
  }
}

void BlockSink::keep() {
  BlockRef r = prev_refs_.at(refs_.size());
  if (!r.is_zero()) r.pack = translate_previous(r.pack);
  refs_.push_back(r);
  ++t_.kept_blocks;
}

void BlockSink::restart() {
  flush_frame();
  refs_.clear();
}

// Reused when the previous snapshot holds the same block at the same place, or a killed backup
// stored it; otherwise gathered into the frame being built.
void BlockSink::block(ByteView b, const BlockId& id) {
  std::size_t index = refs_.size();
  if (index < prev_refs_.size() && prev_refs_[index].id == id && !prev_refs_[index].is_zero()) {
    BlockRef r = prev_refs_[index];
    r.pack = translate_previous(r.pack);
    refs_.push_back(r);
    ++t_.reused_blocks;
    return;
  }
  if (auto it = t_.orphans.blocks.find(id); it != t_.orphans.blocks.end()) {
    const auto& [orphan_pack, e] = it->second;
    refs_.push_back(BlockRef{id, t_.adopt(t_.orphans.pack_ids[orphan_pack]), e.offset, e.length, e.index});
    ++t_.reused_blocks;
    return;
  }
  frame_slots_.push_back(index);
  frame_ids_.push_back(id);
  if (frame_data_.empty() && (frame_view_.empty() || frame_view_.data() + frame_view_.size() == b.data())) {
    frame_view_ = ByteView(frame_view_.empty() ? b.data() : frame_view_.data(), frame_view_.size() + b.size());
  } else {
    detach();
    frame_data_.insert(frame_data_.end(), b.begin(), b.end());
  }
  refs_.push_back(BlockRef{});
  if (frame_ids_.size() == repo::kMaxFrameBlocks) flush_frame();
}

void BlockSink::detach() {
  if (frame_view_.empty()) return;
  frame_data_.assign(frame_view_.begin(), frame_view_.end());
  frame_view_ = {};
}

std::vector<BlockRef> BlockSink::take_refs() {
  flush_frame();
  std::vector<BlockRef> out;
  out.swap(refs_);
  return out;
}

void BlockSink::add_file(const repo::FileEntry& entry, const std::vector<BlockRef>& refs) {
  repo::FileEntry e = entry;
  repo::FileDigest digest;
  for (const auto& r : refs) r.is_zero() ? digest.add_zero() : digest.add_id(r.id);
  e.sha256 = digest.finish_hex();
  t_.manifest->add(e, refs);
}

// The frame's blocks get their references only now, where they landed in the pack.
void BlockSink::flush_frame() {
  if (frame_ids_.empty()) return;
  if (!pack_) open_pack();
  auto entries = pack_->add_frame(codec_, frame_ids_, frame_view_.empty() ? ByteView(frame_data_) : frame_view_);
  ++t_.frames;
  if (codec_.sealed_harder()) ++t_.frames_harder;
  for (std::size_t i = 0; i < entries.size(); ++i)
    refs_[frame_slots_[i]] = BlockRef{entries[i].id, pack_no_, entries[i].offset, entries[i].length, entries[i].index};
  t_.new_blocks += entries.size();
  frame_ids_.clear();
  frame_slots_.clear();
  frame_view_ = {};
  frame_data_.clear();
  if (pack_->size_bytes() >= t_.repo->settings().pack_target_bytes) close_pack();
}

std::uint32_t BlockSink::translate_previous(std::uint32_t prev_no) {
  auto it = translated_.find(prev_no);
  if (it != translated_.end()) return it->second;
  std::uint32_t no = t_.adopt(t_.previous->pack_id(prev_no), false);
  translated_.emplace(prev_no, no);
  return no;
}

void BlockSink::open_pack() {
  pack_ = std::make_unique<repo::PackWriter>(t_.repo->store(), t_.repo->key(), repo::new_pack_id(), block_bytes_);
  pack_no_ = t_.adopt(pack_->pack_id(), false);
}

void BlockSink::close_pack() {
  if (!pack_) return;
  std::uint64_t size = pack_->commit();
  t_.pack_bytes += size;
  t_.claim(pack_->pack_id());
  pack_.reset();
}

}  // namespace pgdr::backup
