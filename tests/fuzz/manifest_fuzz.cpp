// Snapshot manifests (repo/manifest.cpp). Mode 0: the input is the manifest object as stored (the
// authentication path, with the test key). Mode 1: the input is the manifest's logical stream of
// records, sealed here by SealedWriter as ManifestWriter does, so the fuzzer reaches the record and
// JSON parsing; every entry found is then looked up and its block list read back from the spool
// (and, for a version 4 manifest, its ids sought in pack trailers: none exists here).
#include "fuzz_support.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/sealed_stream.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::split_mode(data, size);
  const std::string snapshot = "20240101T000000.000Z-abcd";
  const std::string object = repo::snapshot_manifest_object(snapshot);
  fuzz::MemoryStorage store;
  if (in.mode % 2 == 0) {
    store.put(object, in.rest);
  } else {
    repo::SealedWriter w(store, object, fuzz::test_key());
    w.write(in.rest);
    w.commit();
  }
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    repo::ManifestIndex index(store, snapshot, fuzz::test_key());
    fuzz::require(index.block_bytes() >= 8192 && index.block_bytes() <= (1u << 20), "block size in range");
    for (const auto& e : index.entries()) {
      fuzz::require(index.find(e.file.path) != nullptr, "every entry is found by its path");
      auto refs = index.locations(e);
      fuzz::require(refs.size() == e.file.block_count, "an entry has the blocks it announces");
      for (const auto& r : refs)
        if (!r.is_zero()) {
          fuzz::require(r.pack < index.pack_count(), "block refs name declared packs");
          index.pack_id(r.pack);
        }
      index.locations(e, 1, 2);
    }
  });
  // Ids of a version 4 manifest come from pack trailers, and this repository holds no pack.
  fuzz::expect_errors({ErrorKind::corrupt, ErrorKind::not_found}, [&] {
    repo::ManifestIndex index(store, snapshot, fuzz::test_key());
    for (const auto& e : index.entries()) index.blocks(e, 0, 2);
  });
  return 0;
}
