// Snapshot info objects (repo/snapshot_info.cpp). Mode 0: the input is the object as stored (the
// authentication path, with the test key). Mode 1: the input is its JSON, sealed here as
// write_snapshot_info does, so the fuzzer reaches the JSON reading. Read by id, as "latest" and by
// listing, the three ways commands find snapshots.
#include "fuzz_support.h"
#include "repo/format.h"
#include "repo/sealed_stream.h"
#include "repo/snapshot_info.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::split_mode(data, size);
  const std::string id = "20240101T000000.000Z-abcd";
  const std::string object = repo::snapshot_info_object(id);
  fuzz::MemoryStorage store;
  if (in.mode % 2 == 0) store.put(object, in.rest);
  else repo::write_sealed_object(store, object, fuzz::test_key(), in.rest);

  const auto& key = fuzz::test_key();
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    auto s = repo::find_snapshot(store, key, id);
    fuzz::require(s.id == id, "a snapshot read by id has that id");
  });
  fuzz::expect_errors({ErrorKind::not_found}, [&] { repo::find_snapshot(store, key, "latest"); });
  std::vector<std::string> damaged;
  auto all = repo::list_snapshots(store, key, &damaged);
  fuzz::require(all.size() + damaged.size() == 1, "a listed snapshot is either read or reported damaged");
  return 0;
}
