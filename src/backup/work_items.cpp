#include "backup/work_items.h"

#include <algorithm>
#include <numeric>

namespace pgdr::backup {

namespace {

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::uint64_t kMinPieceBytes = 32 * kMiB;
constexpr std::uint64_t kMaxPieceBytes = 1024 * kMiB;
constexpr std::uint64_t kPiecesPerWorker = 8;

}  // namespace

std::uint64_t piece_bytes(std::uint64_t total_bytes, int workers) {
  const std::uint64_t share = total_bytes / (kPiecesPerWorker * static_cast<std::uint64_t>(std::max(workers, 1)));
  return std::clamp(share, kMinPieceBytes, kMaxPieceBytes) / kMiB * kMiB;
}

std::vector<WorkItem> share_out(const std::vector<FileToShare>& files, int workers, std::uint32_t block_bytes) {
  std::vector<std::size_t> order(files.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return files[a].size_bytes > files[b].size_bytes; });
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size_bytes;
  const std::uint64_t piece_blocks = std::max<std::uint64_t>(piece_bytes(total, workers) / block_bytes, 1);

  std::vector<WorkItem> items;
  items.reserve(files.size());
  for (std::size_t i : order) {
    const std::uint64_t blocks = (files[i].size_bytes + block_bytes - 1) / block_bytes;
    if (!files[i].splittable || blocks <= piece_blocks) {
      items.push_back(WorkItem{i, 0, 0, 1});
      continue;
    }
    const std::uint64_t pieces = (blocks + piece_blocks - 1) / piece_blocks;
    for (std::uint64_t p = 0; p < pieces; ++p)
      items.push_back(WorkItem{i, p * piece_blocks, p + 1 < pieces ? piece_blocks : 0, pieces});
  }
  return items;
}

}  // namespace pgdr::backup
