// The repository settings, pgdr.repo (repo/repository.cpp read_settings): JSON in clear that anyone
// with write access to the storage can replace.
#include "fuzz_support.h"
#include "repo/format.h"
#include "repo/repository.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MemoryStorage store;
  store.put(std::string(repo::kRepoConfigObject), ByteView(data, size));
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    auto s = repo::Repository::read_settings(store, "fuzz");
    fuzz::require(s.version == repo::kFormatVersion, "only the known version is accepted");
    fuzz::require(s.block_bytes >= 8192 && s.block_bytes <= (1u << 20) && (s.block_bytes & (s.block_bytes - 1)) == 0,
                  "block size is a power of two from 8 KiB to 1 MiB");
    fuzz::require(s.pack_target_bytes >= (1u << 20) && s.pack_target_bytes <= (1ull << 31), "pack size in range");
  });
  return 0;
}
