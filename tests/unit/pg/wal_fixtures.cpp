#include "wal_fixtures.h"

#include <zstd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace pgdr::pg::testing {

namespace {

namespace fs = std::filesystem;

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path.string());
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes unzstd(const Bytes& packed, const fs::path& path) {
  const unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    throw std::runtime_error("fixture without a content size: " + path.string());
  Bytes out(size);
  const size_t n = ZSTD_decompress(out.data(), out.size(), packed.data(), packed.size());
  if (ZSTD_isError(n) || n != size) throw std::runtime_error("unable to decompress fixture " + path.string());
  return out;
}

fs::path major_dir(int major) { return fs::path(PGDR_UNIT_TEST_DIR) / "pg" / "data" / "wal" / std::to_string(major); }

WalFixture load(int major, const fs::path& dir) {
  WalFixture f;
  f.major = major;
  f.dir = dir.string();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".zst") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) f.segments.push_back({p.stem().string(), unzstd(read_all(p), p)});
  std::ifstream in(dir / "expected.txt");
  if (!in) throw std::runtime_error("missing " + (dir / "expected.txt").string());
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq != std::string::npos) f.expected[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (f.segments.empty()) throw std::runtime_error("no segments in " + dir.string());
  return f;
}

}  // namespace

std::uint64_t WalFixture::expected_u64(const std::string& key) const {
  auto it = expected.find(key);
  if (it == expected.end()) throw std::runtime_error("expected.txt of " + std::to_string(major) + " lacks " + key);
  return std::stoull(it->second);
}

const WalFixture& wal_fixture(int major) {
  static std::map<int, std::unique_ptr<WalFixture>> cache;
  auto& slot = cache[major];
  if (!slot) slot = std::make_unique<WalFixture>(load(major, major_dir(major)));
  return *slot;
}

const WalFixture& wal_change_fixture(int major) {
  static std::map<int, std::unique_ptr<WalFixture>> cache;
  auto& slot = cache[major];
  if (!slot) slot = std::make_unique<WalFixture>(load(major, major_dir(major) / "changes"));
  return *slot;
}

}  // namespace pgdr::pg::testing
