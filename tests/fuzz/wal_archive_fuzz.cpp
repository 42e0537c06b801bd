// Archived WAL objects (repo/wal_archive.cpp): the PGDRWAL1 header and the checks of size and
// SHA-256 that guard what archive-get hands to PostgreSQL. Mode 0: the input is the object as stored
// (the authentication path, with the test key). Mode 1: the input is the object's plaintext (magic,
// header length, header JSON, content), sealed here as push_wal_file does, so the fuzzer reaches
// the header parsing. Read whole (archive-get), piecewise (verify), and as a repeated push.
#include "fuzz_support.h"
#include "io/kdf.h"
#include "io/sha256.h"
#include "repo/format.h"
#include "repo/keys.h"
#include "repo/repository.h"
#include "repo/sealed_stream.h"
#include "repo/wal_archive.h"

using namespace pgdr;

namespace {

const std::string kSegment = "000000010000000000000001";

struct Fixture {
  fuzz::MemoryStorage* store = nullptr;
  std::unique_ptr<repo::Repository> repo;
};

// A repository in memory whose one key slot wraps the test key.
Fixture make_repository() {
  auto owned = std::make_unique<fuzz::MemoryStorage>();
  Fixture f;
  f.store = owned.get();
  const std::string id = "0123456789abcdef0123456789abcdef";
  repo::add_key_slot(*owned, id, fuzz::test_key(), "fuzz passphrase", io::ScryptParams{16, 1, 1});
  const std::string settings = R"({"format": "pgdr-repository", "version": 1, "id": ")" + id +
                               R"(", "created": "2024-01-01T00:00:00Z", "block_size": 8192, "pack_size": 16777216})";
  owned->put(std::string(repo::kRepoConfigObject), as_bytes(settings));
  f.repo = std::make_unique<repo::Repository>(
      repo::Repository::open(std::move(owned), "fuzz", "fuzz passphrase", "the fuzz target"));
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture f = make_repository();
  const repo::Repository& repo = *f.repo;
  auto in = fuzz::split_mode(data, size);
  const std::string object = repo::wal_object(kSegment);
  if (in.mode % 2 == 0) {
    f.store->put(object, in.rest);
  } else {
    repo::SealedWriter w(*f.store, object, repo.key());
    w.write(in.rest);
    w.commit();
  }

  std::optional<Bytes> whole;
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    whole = repo::fetch_wal_file(repo, kSegment);
    fuzz::require(whole.has_value(), "a stored object is found");
  });
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    auto r = repo::WalObjectReader::open(repo, kSegment);
    fuzz::require(r.has_value(), "a stored object is found");
    Bytes content;
    for (ByteView v; !(v = r->read_view(5000)).empty();) content.insert(content.end(), v.begin(), v.end());
    r->finish(io::Sha256::of(content));
    fuzz::require(whole && *whole == content, "piecewise and whole reads agree");
  });
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    auto outcome = repo::push_wal_file(repo, kSegment, as_bytes("other content"));
    fuzz::require(outcome == repo::PushOutcome::already_archived, "an archived name is never replaced");
  });
  return 0;
}
