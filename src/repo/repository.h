// An open repository: its storage, its settings (the plaintext pgdr.repo object) and its unwrapped
// master key. Creating one writes pgdr.repo last, so a half-created repository is never taken for
// a valid one. Readers refuse any format version other than the one they know.
#pragma once

#include <memory>
#include <string>

#include "core/bytes.h"
#include "repo/keys.h"
#include "storage/storage.h"

namespace pgdr::repo {

struct RepoSettings {
  int version = 0;
  std::string id;       // random, binds key slots to this repository
  std::string created;  // ISO-8601 UTC
  std::uint32_t block_bytes = 0;
  std::uint64_t pack_target_bytes = 0;
};

class Repository {
 public:
  // Creates a repository in empty storage; throws Error(config) if anything is already there.
  static void create(storage::Storage& store, const std::string& name, std::string_view passphrase,
                     std::uint32_t block_bytes, std::uint64_t pack_target_bytes);

  // Opens and unlocks; throws Error(not_found) for no repository, Error(corrupt) for an unknown
  // version, Error(crypto) "wrong passphrase" when no key slot opens.
  static Repository open(std::unique_ptr<storage::Storage> store, const std::string& name,
                         std::string_view passphrase, const std::string& passphrase_source);

  // Reads the settings alone (no key needed).
  static RepoSettings read_settings(const storage::Storage& store, const std::string& name);

  const std::string& name() const { return name_; }
  storage::Storage& store() const { return *store_; }
  const MasterKey& key() const { return key_; }
  const RepoSettings& settings() const { return settings_; }
  const std::string& key_slot() const { return key_slot_; }
  // "repository 'name' (local directory /x)" for messages.
  std::string describe() const;

 private:
  Repository(std::unique_ptr<storage::Storage> store, std::string name, RepoSettings settings, MasterKey key,
             std::string slot);
  std::unique_ptr<storage::Storage> store_;
  std::string name_;
  RepoSettings settings_;
  MasterKey key_;
  std::string key_slot_;
};

}  // namespace pgdr::repo
