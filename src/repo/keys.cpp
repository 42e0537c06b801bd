#include "repo/keys.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_integer.h"
#include "core/time_format.h"
#include "io/aead.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

constexpr std::size_t kSaltBytes = 32;

std::string slot_object(const std::string& slot_id) { return std::string(kKeysDir) + "/" + slot_id; }

Bytes slot_aad(const std::string& repo_id, const std::string& slot_id) {
  return to_bytes(std::string(kAadKeySlot) + repo_id + " " + slot_id);
}

SecretBytes derive(ByteView master, std::string_view info) {
  return io::hkdf_sha256(master, as_bytes("pgdr-v1"), info, 32);
}

}  // namespace

MasterKey::MasterKey(SecretBytes master)
    : master_(std::move(master)),
      data_key_(derive(master_.view(), "pgdr-v1 data key")),
      id_key_(derive(master_.view(), "pgdr-v1 block id key")) {
  if (master_.size() != kMasterKeyBytes) throw Error(ErrorKind::internal, "master key has the wrong length");
}

MasterKey MasterKey::generate() {
  Bytes raw = io::random_bytes(kMasterKeyBytes);
  SecretBytes s(raw);
  std::fill(raw.begin(), raw.end(), 0);
  return MasterKey(std::move(s));
}

std::string add_key_slot(storage::Storage& store, const std::string& repo_id, const MasterKey& key,
                         std::string_view passphrase, const io::ScryptParams& params) {
  if (passphrase.empty()) throw Error(ErrorKind::config, "refusing an empty passphrase");
  std::string slot_id = to_hex(io::random_bytes(8));
  Bytes salt = io::random_bytes(kSaltBytes);
  SecretBytes kek = io::scrypt(passphrase, salt, params, io::kAeadKeyBytes);
  io::Aead aead(kek.view());
  Bytes wrapped;
  aead.seal(key.master().view(), slot_aad(repo_id, slot_id), wrapped);
  nlohmann::json j = {
      {"format", "pgdr-key-slot"},
      {"version", kFormatVersion},
      {"kdf", "scrypt"},
      {"n", params.n},
      {"r", params.r},
      {"p", params.p},
      {"salt", to_base64(salt)},
      {"wrapped", to_base64(wrapped)},
      {"created", now_iso8601()},
  };
  std::string text = j.dump(2) + "\n";
  if (!store.create_exclusive(slot_object(slot_id), as_bytes(text)))
    throw Error(ErrorKind::internal, "key slot " + slot_id + " already exists in " + store.describe());
  return slot_id;
}

namespace {

struct ParsedSlot {
  io::ScryptParams params;
  Bytes salt;
  Bytes wrapped;
  std::string created;
};

ParsedSlot parse_slot(const storage::Storage& store, const std::string& slot_id, const Bytes& raw) {
  auto bad = [&](const std::string& why) -> ParsedSlot {
    throw Error(ErrorKind::corrupt, "unreadable key slot " + slot_id + " in " + store.describe() + " (" + why + ")");
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(raw.begin(), raw.end());
  } catch (const nlohmann::json::exception&) {
    return bad("not JSON");
  }
  try {
    if (j.at("format") != "pgdr-key-slot") return bad("not a key slot");
    int version = integer_at<int>(j, "version");
    if (version != kFormatVersion)
      return bad("format version " + std::to_string(version) + ", this pgdr reads version " +
                 std::to_string(kFormatVersion));
    if (j.at("kdf") != "scrypt") return bad("unknown kdf");
    ParsedSlot s;
    s.params.n = integer_at<std::uint64_t>(j, "n");
    s.params.r = integer_at<std::uint32_t>(j, "r");
    s.params.p = integer_at<std::uint32_t>(j, "p");
    // Bound the parameters so a tampered slot cannot make us allocate gigabytes. Parameters scrypt
    // itself refuses mean a damaged slot, not a wrong passphrase, so they are checked here too:
    // n a power of two below 2^(16 r) (RFC 7914 2), and 128 r n bytes of memory within the 1 GiB
    // OpenSSL allows by default.
    const std::uint64_t n = s.params.n, r = s.params.r, p = s.params.p;
    if (n < 2 || n > (1u << 22) || (n & (n - 1)) != 0 || r == 0 || r > 32 || p == 0 || p > 16 ||
        (16 * r < 64 && n >= (std::uint64_t{1} << (16 * r))) || 128 * r * n > (std::uint64_t{1} << 30))
      return bad("kdf parameters out of range");
    // from_base64 throws Error, not a JSON exception: catch it here so the message names the slot.
    auto base64_field = [&](const char* field) -> Bytes {
      std::string text = j.at(field).get<std::string>();
      try {
        return from_base64(text);
      } catch (const Error&) {
        bad(std::string(field) + " is not base64");
        return {};
      }
    };
    s.salt = base64_field("salt");
    s.wrapped = base64_field("wrapped");
    s.created = j.value("created", "");
    return s;
  } catch (const nlohmann::json::exception& e) {
    return bad("missing or mistyped field");
  }
}

}  // namespace

std::vector<KeySlotInfo> list_key_slots(const storage::Storage& store) {
  std::vector<KeySlotInfo> out;
  for (const auto& obj : store.list(kKeysDir)) {
    std::string slot_id = obj.path.substr(kKeysDir.size() + 1);
    auto raw = store.read(obj.path);
    if (!raw) continue;
    out.push_back({slot_id, parse_slot(store, slot_id, *raw).created});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

std::optional<OpenedKey> open_key_slots(const storage::Storage& store, const std::string& repo_id,
                                        std::string_view passphrase) {
  auto slots = store.list(kKeysDir);
  if (slots.empty())
    throw Error(ErrorKind::not_found, "no key slot in " + store.describe() + " (the repository cannot be opened)");
  // A damaged slot must not lock out the passphrases of the other slots: it is reported only
  // when no slot opens.
  std::optional<Error> damaged;
  for (const auto& obj : slots) {
    std::string slot_id = obj.path.substr(kKeysDir.size() + 1);
    auto raw = store.read(obj.path);
    if (!raw) continue;
    ParsedSlot s;
    try {
      s = parse_slot(store, slot_id, *raw);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
      if (!damaged) damaged = e;
      continue;
    }
    SecretBytes kek = io::scrypt(passphrase, s.salt, s.params, io::kAeadKeyBytes);
    io::Aead aead(kek.view());
    Bytes master;
    try {
      aead.open(s.wrapped, slot_aad(repo_id, slot_id), master);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::corrupt) continue;  // another passphrase's slot
      throw;
    }
    SecretBytes secret(master);
    std::fill(master.begin(), master.end(), 0);
    if (secret.size() != kMasterKeyBytes)
      throw Error(ErrorKind::corrupt, "key slot " + slot_id + " in " + store.describe() + " holds a key of the wrong length");
    return OpenedKey{MasterKey(std::move(secret)), slot_id};
  }
  if (damaged) throw *damaged;
  return std::nullopt;
}

void remove_key_slot(storage::Storage& store, const std::string& slot_id) { store.remove(slot_object(slot_id)); }

}  // namespace pgdr::repo
