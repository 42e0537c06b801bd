// The repository's key hierarchy. A random 64-byte master key never leaves memory unwrapped; it is
// stored only inside key slots, each wrapping it under a key derived from one passphrase with
// scrypt. Changing the passphrase adds a slot and removes the old one: no data is rewritten.
// From the master key HKDF derives the data key (AES-256-GCM of every object) and the id key
// (HMAC-SHA-256 naming blocks, so that block names reveal nothing about their content).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "io/kdf.h"
#include "storage/storage.h"

namespace pgdr::repo {

inline constexpr std::size_t kMasterKeyBytes = 64;

class MasterKey {
 public:
  explicit MasterKey(SecretBytes master);
  static MasterKey generate();

  const SecretBytes& master() const { return master_; }
  const SecretBytes& data_key() const { return data_key_; }
  const SecretBytes& id_key() const { return id_key_; }

 private:
  SecretBytes master_;
  SecretBytes data_key_;
  SecretBytes id_key_;
};

struct KeySlotInfo {
  std::string slot_id;
  std::string created;  // ISO-8601 UTC
};

// Writes a new slot wrapping key under passphrase; returns its id.
std::string add_key_slot(storage::Storage& store, const std::string& repo_id, const MasterKey& key,
                         std::string_view passphrase, const io::ScryptParams& params = {});

// Tries every slot; returns the master key and the id of the slot that opened, or nullopt when no
// slot opens with this passphrase. Throws Error(corrupt) for a slot that cannot be parsed and
// Error(not_found) when the repository has no slot at all.
struct OpenedKey {
  MasterKey key;
  std::string slot_id;
};
std::optional<OpenedKey> open_key_slots(const storage::Storage& store, const std::string& repo_id,
                                        std::string_view passphrase);

std::vector<KeySlotInfo> list_key_slots(const storage::Storage& store);
void remove_key_slot(storage::Storage& store, const std::string& slot_id);

}  // namespace pgdr::repo
