// Key slots (repo/keys.cpp): JSON in clear that anyone with write access to the storage can
// replace. Every input is parsed by listing; when its KDF parameters are cheap it is also opened
// with the test passphrase, the authentication path (the seeds are real slots of the test key
// under that passphrase, so the fuzzer starts from slots that open). Costly parameters are parsed
// only: scrypt at the bound the parser allows (1 GiB) would turn every such input into a slow one.
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "repo/format.h"
#include "repo/keys.h"

using namespace pgdr;

namespace {

const std::string kRepoId = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kPassphrase = "fuzz passphrase";

bool cheap_kdf(const std::uint8_t* data, std::size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (!j.is_object()) return true;  // refused before any KDF runs
  auto small = [&](const char* k, std::uint64_t limit) {
    auto it = j.find(k);
    return it == j.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() <= limit;
  };
  return small("n", 1024) && small("r", 8) && small("p", 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MemoryStorage store;
  store.put(std::string(repo::kKeysDir) + "/00112233aabbccdd", ByteView(data, size));
  fuzz::expect_errors({ErrorKind::corrupt}, [&] { repo::list_key_slots(store); });
  if (!cheap_kdf(data, size)) return 0;
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    auto opened = repo::open_key_slots(store, kRepoId, kPassphrase);
    if (opened) fuzz::require(opened->key.master().size() == repo::kMasterKeyBytes, "an opened key has 64 bytes");
  });
  return 0;
}
