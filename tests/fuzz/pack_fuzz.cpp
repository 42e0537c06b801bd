// Pack tails and trailers (repo/pack.cpp). Mode 0: the input is a whole pack as stored, read from
// memory and through ranged reads (the authentication path, with the test key). Mode 1: the input
// is u16le body length | trailer table; the target seals the table as PackWriter does, so the
// fuzzer reaches the entry checks behind the authentication.
#include "fuzz_support.h"
#include "core/little_endian.h"
#include "io/aead.h"
#include "repo/format.h"
#include "repo/pack.h"

using namespace pgdr;

namespace {

const std::string kPackId = "00112233445566778899aabbccddeeff";

void check_entries(const repo::PackTrailer& trailer, std::uint64_t body_end) {
  for (const auto& e : trailer.entries) {
    fuzz::require(e.index < repo::kMaxFrameBlocks, "trailer entry index below the frame limit");
    fuzz::require(std::uint64_t{e.offset} + e.length <= body_end, "trailer entry inside the pack body");
    fuzz::require(e.raw_length >= 1 && e.raw_length <= trailer.block_bytes, "a block of 1 to block size bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::split_mode(data, size);
  Bytes pack;
  if (in.mode % 2 == 0) {
    pack.assign(in.rest.begin(), in.rest.end());
  } else {
    if (in.rest.size() < 2) return 0;
    std::size_t body = get_u16le(in.rest.data());
    pack.assign(body, 0);
    io::Aead aead(fuzz::test_key().data_key().view());
    aead.seal(in.rest.subspan(2), to_bytes(std::string(repo::kAadPackTrailer) + kPackId), pack);
    put_u32le(pack, static_cast<std::uint32_t>(pack.size() - body));
    put_u32le(pack, repo::kPackVersion);
    for (char c : std::string_view("PGDRPACK")) pack.push_back(static_cast<std::uint8_t>(c));
  }
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    check_entries(repo::parse_pack_trailer(pack, fuzz::test_key(), kPackId, "fuzz"), pack.size());
  });
  fuzz::MemoryStorage store;
  store.put(repo::pack_object(kPackId), pack);
  fuzz::expect_errors({ErrorKind::corrupt}, [&] { repo::read_pack_trailer(store, fuzz::test_key(), kPackId); });
  return 0;
}
