#include "repo/repository.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_integer.h"
#include "core/time_format.h"
#include "io/kdf.h"
#include "repo/format.h"

namespace pgdr::repo {

Repository::Repository(std::unique_ptr<storage::Storage> store, std::string name, RepoSettings settings, MasterKey key,
                       std::string slot)
    : store_(std::move(store)),
      name_(std::move(name)),
      settings_(std::move(settings)),
      key_(std::move(key)),
      key_slot_(std::move(slot)) {}

std::string Repository::describe() const { return "repository '" + name_ + "' (" + store_->describe() + ")"; }

void Repository::create(storage::Storage& store, const std::string& name, std::string_view passphrase,
                        std::uint32_t block_bytes, std::uint64_t pack_target_bytes) {
  if (!store.list("").empty())
    throw Error(ErrorKind::config, "refusing to create repository '" + name + "': " + store.describe() + " is not empty",
                "pgdr init never overwrites a repository; point [[repo]] path at a new directory");
  RepoSettings s;
  s.version = kFormatVersion;
  s.id = to_hex(io::random_bytes(16));
  s.created = now_iso8601();
  s.block_bytes = block_bytes;
  s.pack_target_bytes = pack_target_bytes;
  MasterKey key = MasterKey::generate();
  add_key_slot(store, s.id, key, passphrase);
  nlohmann::json j = {{"format", "pgdr-repository"}, {"version", s.version},       {"id", s.id},
                      {"created", s.created},        {"block_size", s.block_bytes}, {"pack_size", s.pack_target_bytes}};
  std::string text = j.dump(2) + "\n";
  // Written last: its presence is what makes the directory a repository.
  if (!store.create_exclusive(kRepoConfigObject, as_bytes(text)))
    throw Error(ErrorKind::config, "refusing to create repository '" + name + "': " + store.describe() + " already holds one");
}

RepoSettings Repository::read_settings(const storage::Storage& store, const std::string& name) {
  auto raw = store.read(kRepoConfigObject);
  if (!raw)
    throw Error(ErrorKind::not_found, "no repository '" + name + "' at " + store.describe() + " (pgdr.repo missing)",
                "create it with 'pgdr init'");
  auto bad = [&](const std::string& why) -> RepoSettings {
    throw Error(ErrorKind::corrupt, "unreadable repository '" + name + "' at " + store.describe() + " (" + why + ")");
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(raw->begin(), raw->end());
  } catch (const nlohmann::json::exception&) {
    return bad("pgdr.repo is not JSON");
  }
  try {
    if (j.at("format") != "pgdr-repository") return bad("pgdr.repo is not a pgdr repository description");
    RepoSettings s;
    s.version = integer_at<int>(j, "version");
    if (s.version != kFormatVersion)
      throw Error(ErrorKind::corrupt,
                  "unsupported repository format version " + std::to_string(s.version) + " in repository '" + name +
                      "' at " + store.describe() + " (this pgdr reads version " + std::to_string(kFormatVersion) + ")",
                  "use the pgdr release that wrote this repository");
    s.id = j.at("id").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.block_bytes = integer_at<std::uint32_t>(j, "block_size");
    s.pack_target_bytes = integer_at<std::uint64_t>(j, "pack_size");
    if (s.block_bytes < 8192 || (s.block_bytes & (s.block_bytes - 1)) != 0 || s.block_bytes > (1u << 20)) return bad("impossible block_size");
    if (s.pack_target_bytes < (1u << 20) || s.pack_target_bytes > (1ull << 31)) return bad("impossible pack_size");
    return s;
  } catch (const nlohmann::json::exception&) {
    return bad("pgdr.repo lacks a field");
  }
}

Repository Repository::open(std::unique_ptr<storage::Storage> store, const std::string& name,
                            std::string_view passphrase, const std::string& passphrase_source) {
  RepoSettings s = read_settings(*store, name);
  auto opened = open_key_slots(*store, s.id, passphrase);
  if (!opened)
    throw Error(ErrorKind::crypto,
                "wrong passphrase: no key slot of repository '" + name + "' at " + store->describe() +
                    " opens with the passphrase from " + passphrase_source,
                "check [key] in the configuration; after 'pgdr key change' the old passphrase no longer works");
  return Repository(std::move(store), name, std::move(s), std::move(opened->key), std::move(opened->slot_id));
}

}  // namespace pgdr::repo
