// Frames of packs (repo/block_codec.cpp). Mode 0: the input is a sealed frame as stored at offset 0
// of pack kPackId (the authentication path, with the test key). Mode 1: the input is a frame's
// plaintext (codec, count, raw length, payload), sealed here for that place as
// BlockCodec::seal_frame does, so the fuzzer reaches the header checks and the zstd and lz4
// decoders behind the authentication.
#include <algorithm>

#include "fuzz_support.h"
#include "io/aead.h"
#include "repo/block_codec.h"
#include "repo/format.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::split_mode(data, size);
  static const std::string kPackId = "00112233445566778899aabbccddeeff";  // make_seeds' and pack_fuzz's
  const repo::FramePlace place{kPackId, 0};
  Bytes sealed;
  if (in.mode % 2 == 0) {
    sealed.assign(in.rest.begin(), in.rest.end());
  } else {
    io::Aead aead(fuzz::test_key().data_key().view());
    Bytes aad;
    repo::frame_aad(place, aad);
    aead.seal(in.rest, aad, sealed);
  }
  // One codec for the run, as each backup and restore thread keeps one: building its zstd contexts
  // per input would take most of the time.
  static repo::BlockCodec codec(fuzz::test_key(), io::Codec::zstd, 1);
  Bytes out;
  bool opened = false;
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    repo::FrameShape shape = codec.open_frame(sealed, place, out);
    opened = true;
    fuzz::require(shape.count >= 1 && shape.count <= repo::kMaxFrameBlocks, "a frame holds 1 to kMaxFrameBlocks blocks");
    fuzz::require(shape.raw_bytes == out.size(), "a frame decodes to its raw length");
  });
  Bytes buf(16);
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    std::size_t n = codec.open_frame_to(sealed, place, buf).raw_bytes;
    fuzz::require(n <= buf.size(), "open_frame_to's length within its buffer");
    fuzz::require(opened && n == out.size() && std::equal(out.begin(), out.end(), buf.begin()),
                  "open_frame_to and open_frame agree");
  });
  return 0;
}
