// What frame size and zstd level would store: compresses the non-zero 8 KiB blocks of every file
// under a directory in frames of N blocks (as pgdr's backup gathers a file's new blocks), and
// every file whole at level 3 (as pgBackRest's zst compresses a file as one stream). Prints the
// compressed megabytes and the single-thread compression seconds of each. No encryption, ids or
// metadata: only what the codec leaves. LEVEL may end in ":row" to have zstd search matches with
// its row-based finder (its default from level 5) instead of hash chains (what pgdr sets), and
// in ",NAME=VALUE" settings that override the level's own (NAME one of strategy, searchLog,
// minMatch, targetLength, hashLog, chainLog, windowLog), e.g. "6,searchLog=2".
//
//   g++ -O2 -std=c++20 -o /tmp/frame_sizes bench/tools/frame_sizes.cpp -lzstd
//   /tmp/frame_sizes PGDATA/base LEVEL[:row][,NAME=VALUE...] N [N...]
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kBlock = 8192;

// The file's blocks that are not all zeros (pgdr stores zero blocks nowhere), concatenated.
std::vector<char> nonzero_blocks(const std::vector<char>& file) {
  std::vector<char> out;
  for (std::size_t at = 0; at < file.size(); at += kBlock) {
    const std::size_t n = std::min(kBlock, file.size() - at);
    const auto first = file.begin() + static_cast<std::ptrdiff_t>(at);
    if (std::any_of(first, first + static_cast<std::ptrdiff_t>(n), [](char c) { return c != 0; }))
      out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DIR LEVEL[:row] BLOCKS_PER_FRAME...\n", argv[0]);
    return 2;
  }
  const std::string spec = argv[2];
  const int level = std::atoi(spec.c_str());
  const std::string head = spec.substr(0, spec.find(','));
  const bool row = head.ends_with(":row");
  const std::map<std::string, ZSTD_cParameter> names = {
      {"strategy", ZSTD_c_strategy},   {"searchLog", ZSTD_c_searchLog}, {"minMatch", ZSTD_c_minMatch},
      {"targetLength", ZSTD_c_targetLength}, {"hashLog", ZSTD_c_hashLog}, {"chainLog", ZSTD_c_chainLog},
      {"windowLog", ZSTD_c_windowLog}};
  std::vector<std::pair<ZSTD_cParameter, int>> overrides;
  if (const auto comma = spec.find(','); comma != std::string::npos) {
    std::stringstream rest(spec.substr(comma + 1));
    for (std::string item; std::getline(rest, item, ',');) {
      const auto eq = item.find('=');
      const auto it = eq == std::string::npos ? names.end() : names.find(item.substr(0, eq));
      if (it == names.end()) {
        std::fprintf(stderr, "unknown setting: %s\n", item.c_str());
        return 2;
      }
      overrides.emplace_back(it->second, std::atoi(item.c_str() + eq + 1));
    }
  }
  std::vector<std::size_t> frames;
  for (int i = 3; i < argc; ++i) frames.push_back(static_cast<std::size_t>(std::atoi(argv[i])));
  std::vector<double> bytes(frames.size()), seconds(frames.size());
  double whole = 0, raw = 0;
  ZSTD_CCtx* cx = ZSTD_createCCtx();
  ZSTD_CCtx* frame_cx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(frame_cx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(frame_cx, ZSTD_c_useRowMatchFinder, row ? ZSTD_ps_enable : ZSTD_ps_disable);
  for (const auto& [param, value] : overrides) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(frame_cx, param, value))) {
      std::fprintf(stderr, "setting out of range: %s\n", spec.c_str());
      return 2;
    }
  }
  std::vector<char> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(argv[1])) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::vector<char> blocks = nonzero_blocks(file);
    raw += static_cast<double>(blocks.size());
    for (std::size_t k = 0; k < frames.size(); ++k) {
      const auto start = std::chrono::steady_clock::now();
      for (std::size_t at = 0; at < blocks.size(); at += frames[k] * kBlock) {
        const std::size_t n = std::min(frames[k] * kBlock, blocks.size() - at);
        out.resize(ZSTD_compressBound(n));
        const std::size_t c = ZSTD_compress2(frame_cx, out.data(), out.size(), blocks.data() + at, n);
        bytes[k] += static_cast<double>(std::min(c, n));  // stored as they are when that is smaller
      }
      seconds[k] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!file.empty()) {
      out.resize(ZSTD_compressBound(file.size()));
      whole += static_cast<double>(ZSTD_compressCCtx(cx, out.data(), out.size(), file.data(), file.size(), 3));
    }
  }
  ZSTD_freeCCtx(cx);
  ZSTD_freeCCtx(frame_cx);
  std::printf("non-zero blocks: %.1f MB\n", raw / 1e6);
  for (std::size_t k = 0; k < frames.size(); ++k)
    std::printf("level %s, frames of %zu blocks: %.2f MB, %.2f s\n", spec.c_str(), frames[k], bytes[k] / 1e6,
                seconds[k]);
  std::printf("each file whole, level 3: %.2f MB\n", whole / 1e6);
}
