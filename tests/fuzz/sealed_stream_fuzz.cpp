// Sealed objects (repo/sealed_stream.cpp), the container of manifests, snapshot info and WAL
// objects. Mode 0: the input is an object as stored (the authentication path, with the test key).
// Mode 1: the input is a list of frame plaintexts, each u16le length | flags | payload; the target
// seals each under the object's name and its index, as SealedWriter does, so the fuzzer reaches the
// flag, length and zstd handling behind the authentication. The stream is read three ways: whole,
// by views of odd sizes, and by exact reads.
#include "fuzz_support.h"
#include "core/little_endian.h"
#include "io/aead.h"
#include "repo/format.h"
#include "repo/sealed_stream.h"

using namespace pgdr;

namespace {

const std::string kObject = "snapshots/fuzz.info";

Bytes seal_frames(ByteView rest) {
  Bytes object = to_bytes("PGDRSEAL");
  object.push_back(1);
  io::Aead aead(fuzz::test_key().data_key().view());
  std::uint64_t index = 0;
  while (rest.size() >= 2) {
    std::size_t n = std::min<std::size_t>(get_u16le(rest.data()), rest.size() - 2);
    Bytes aad = to_bytes(std::string(repo::kAadSealed) + kObject);
    put_u64le(aad, index++);
    Bytes frame;
    aead.seal(rest.subspan(2, n), aad, frame);
    put_u32le(object, static_cast<std::uint32_t>(frame.size()));
    object.insert(object.end(), frame.begin(), frame.end());
    rest = rest.subspan(2 + n);
  }
  return object;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::split_mode(data, size);
  fuzz::MemoryStorage store;
  store.put(kObject, in.mode % 2 == 0 ? Bytes(in.rest.begin(), in.rest.end()) : seal_frames(in.rest));
  const auto& key = fuzz::test_key();

  std::optional<Bytes> whole;
  fuzz::expect_errors({ErrorKind::corrupt}, [&] { whole = repo::read_sealed_object(store, kObject, key); });
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    repo::SealedReader r(store, kObject, key);
    Bytes got;
    static constexpr std::size_t kSizes[] = {1, 7, 4096, 1u << 20, 13};
    for (std::size_t i = 0;; ++i) {
      ByteView v = r.read_view(kSizes[i % std::size(kSizes)]);
      if (v.empty()) break;
      got.insert(got.end(), v.begin(), v.end());
    }
    fuzz::require(r.at_end(), "a stream read to its end is at its end");
    fuzz::require(whole && *whole == got, "views and a whole read give the same bytes");
  });
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    repo::SealedReader r(store, kObject, key);
    std::uint8_t head[5];
    r.read_exact(head, sizeof head);
    r.at_end();
  });
  return 0;
}
