#include "repo/keys.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "io/aead.h"
#include "repo/format.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::contains;
using test::error_of;
using test::kFastScrypt;

const std::string kRepoId = "0123456789abcdef0123456789abcdef";

std::string hex(const SecretBytes& s) { return to_hex(s.view()); }

class KeySlotTest : public test::RepoTestBase {
 protected:
  std::string slot_object(const std::string& slot_id) const { return std::string(kKeysDir) + "/" + slot_id; }
  std::string unreadable(const std::string& slot_id, const std::string& why) const {
    return "unreadable key slot " + slot_id + " in " + store_.describe() + " (" + why + ")";
  }
  // Rewrites one field of a slot's JSON, as a hand edit would.
  void edit_slot(const std::string& slot_id, const std::string& field, const nlohmann::json& value) {
    Bytes b = raw(slot_object(slot_id));
    auto j = nlohmann::json::parse(b.begin(), b.end());
    if (value.is_null()) {
      j.erase(field);
    } else {
      j[field] = value;
    }
    put_raw(slot_object(slot_id), as_bytes(j.dump(2)));
  }
};

TEST_F(KeySlotTest, SlotRoundTrip) {
  std::string slot = add_key_slot(store_, kRepoId, key_, "correct horse battery", kFastScrypt);
  EXPECT_EQ(slot.size(), 16u);
  EXPECT_EQ(from_hex(slot).size(), 8u);

  auto opened = open_key_slots(store_, kRepoId, "correct horse battery");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->slot_id, slot);
  EXPECT_EQ(hex(opened->key.master()), hex(key_.master()));
  EXPECT_EQ(hex(opened->key.data_key()), hex(key_.data_key()));
  EXPECT_EQ(hex(opened->key.id_key()), hex(key_.id_key()));

  // The purpose keys are distinct 32-byte keys, neither equal to (a part of) the master key.
  EXPECT_EQ(key_.master().size(), kMasterKeyBytes);
  EXPECT_EQ(key_.data_key().size(), 32u);
  EXPECT_EQ(key_.id_key().size(), 32u);
  EXPECT_NE(hex(key_.data_key()), hex(key_.id_key()));
  EXPECT_FALSE(contains(hex(key_.master()), hex(key_.data_key())));

  // The slot holds the key only wrapped, and never the passphrase.
  Bytes stored = raw(slot_object(slot));
  std::string text(as_chars(stored));
  EXPECT_FALSE(contains(text, "correct horse battery"));
  EXPECT_FALSE(contains(text, to_base64(key_.master().view())));
  EXPECT_FALSE(contains(text, hex(key_.master())));
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j.at("format"), "pgdr-key-slot");
  EXPECT_EQ(j.at("version"), kFormatVersion);
  EXPECT_EQ(j.at("kdf"), "scrypt");
  EXPECT_EQ(j.at("n"), kFastScrypt.n);

  auto slots = list_key_slots(store_);
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots[0].slot_id, slot);
  EXPECT_FALSE(slots[0].created.empty());
}

TEST_F(KeySlotTest, WrongPassphraseOpensNothing) {
  add_key_slot(store_, kRepoId, key_, "right", kFastScrypt);
  EXPECT_FALSE(open_key_slots(store_, kRepoId, "wrong").has_value());
  EXPECT_FALSE(open_key_slots(store_, kRepoId, "Right").has_value());
  EXPECT_FALSE(open_key_slots(store_, kRepoId, "").has_value());
}

TEST_F(KeySlotTest, NoSlotAtAllIsNotFound) {
  Error e = error_of([&] { open_key_slots(store_, kRepoId, "anything"); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()), "no key slot in " + store_.describe() + " (the repository cannot be opened)");
}

TEST_F(KeySlotTest, EmptyPassphraseIsRefused) {
  Error e = error_of([&] { add_key_slot(store_, kRepoId, key_, "", kFastScrypt); });
  EXPECT_EQ(e.kind(), ErrorKind::config);
  EXPECT_EQ(std::string(e.what()), "refusing an empty passphrase");
  EXPECT_TRUE(store_.list("").empty());
}

TEST_F(KeySlotTest, OldAndNewPassphraseSlotsBothOpenUntilOneIsRemoved) {
  std::string old_slot = add_key_slot(store_, kRepoId, key_, "old passphrase", kFastScrypt);
  std::string new_slot = add_key_slot(store_, kRepoId, key_, "new passphrase", kFastScrypt);
  ASSERT_NE(old_slot, new_slot);

  auto by_old = open_key_slots(store_, kRepoId, "old passphrase");
  auto by_new = open_key_slots(store_, kRepoId, "new passphrase");
  ASSERT_TRUE(by_old.has_value());
  ASSERT_TRUE(by_new.has_value());
  EXPECT_EQ(by_old->slot_id, old_slot);
  EXPECT_EQ(by_new->slot_id, new_slot);
  EXPECT_EQ(hex(by_old->key.master()), hex(key_.master()));
  EXPECT_EQ(hex(by_new->key.master()), hex(key_.master()));
  EXPECT_EQ(list_key_slots(store_).size(), 2u);

  remove_key_slot(store_, old_slot);
  EXPECT_FALSE(open_key_slots(store_, kRepoId, "old passphrase").has_value());
  auto still = open_key_slots(store_, kRepoId, "new passphrase");
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->slot_id, new_slot);
  auto slots = list_key_slots(store_);
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots[0].slot_id, new_slot);

  // Removing a slot that is already gone is not an error.
  remove_key_slot(store_, old_slot);
}

TEST_F(KeySlotTest, SlotThatIsNotJsonIsCorruptNamingTheSlot) {
  std::string slot = add_key_slot(store_, kRepoId, key_, "pass", kFastScrypt);
  cut(slot_object(slot), raw(slot_object(slot)).size() / 2);
  for (auto call : {+[](const storage::Storage& s) { open_key_slots(s, kRepoId, "pass"); },
                    +[](const storage::Storage& s) { list_key_slots(s); }}) {
    Error e = error_of([&] { call(store_); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), unreadable(slot, "not JSON"));
  }
}

TEST_F(KeySlotTest, SlotWithDamagedFieldsIsCorruptNamingTheSlot) {
  struct Damage {
    std::string field;
    nlohmann::json value;  // null: the field is removed
    std::string why;
  };
  const std::vector<Damage> damages = {
      {"format", "pgdr-snapshot", "not a key slot"},
      {"version", 2, "format version 2, this pgdr reads version 1"},
      {"kdf", "argon2id", "unknown kdf"},
      {"n", std::uint64_t{1} << 40, "kdf parameters out of range"},
      {"n", 17, "kdf parameters out of range"},  // scrypt needs a power of two
      {"n", 1u << 16, "kdf parameters out of range"},  // with r = 1, n must stay below 2^16
      {"r", 0, "kdf parameters out of range"},
      {"p", 1000, "kdf parameters out of range"},
      {"salt", nullptr, "missing or mistyped field"},
      {"wrapped", 12345, "missing or mistyped field"},
      {"salt", "not base64!", "salt is not base64"},
      {"wrapped", "%%%%", "wrapped is not base64"},
      // Numbers beyond the field's type were cast to it (undefined for a float; 2^32 + 1 became 1).
      {"n", 1e300, "missing or mistyped field"},
      {"r", (std::uint64_t{1} << 32) + 1, "missing or mistyped field"},
      {"version", 1.0, "missing or mistyped field"},
  };
  for (const auto& d : damages) {
    SCOPED_TRACE(d.field + " = " + d.value.dump());
    for (const auto& obj : store_.list(kKeysDir)) store_.remove(obj.path);
    std::string slot = add_key_slot(store_, kRepoId, key_, "pass", kFastScrypt);
    edit_slot(slot, d.field, d.value);
    Error e = error_of([&] { open_key_slots(store_, kRepoId, "pass"); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), unreadable(slot, d.why));
  }
}

TEST_F(KeySlotTest, DamagedSlotDoesNotLockOutTheOthers) {
  std::string good = add_key_slot(store_, kRepoId, key_, "pass", kFastScrypt);
  std::string bad = add_key_slot(store_, kRepoId, key_, "other", kFastScrypt);
  edit_slot(bad, "kdf", "argon2id");
  auto opened = open_key_slots(store_, kRepoId, "pass");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->slot_id, good);
  // With no slot opening, the damage is what gets reported, not a wrong passphrase.
  Error e = error_of([&] { open_key_slots(store_, kRepoId, "neither"); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), unreadable(bad, "unknown kdf"));
}

TEST_F(KeySlotTest, SlotAskingForMoreMemoryThanScryptAllowsIsCorrupt) {
  // n = 2^22 and r = 8 each pass on their own, but together ask scrypt for 4 GiB.
  std::string slot = add_key_slot(store_, kRepoId, key_, "pass", kFastScrypt);
  edit_slot(slot, "r", 8);
  edit_slot(slot, "n", 1u << 22);
  Error e = error_of([&] { open_key_slots(store_, kRepoId, "pass"); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), unreadable(slot, "kdf parameters out of range"));

  // The parameters pgdr writes by default are well inside every bound.
  store_.remove(slot_object(slot));
  std::string normal = add_key_slot(store_, "another-repo", key_, "pass");
  auto opened = open_key_slots(store_, "another-repo", "pass");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->slot_id, normal);
}

TEST_F(KeySlotTest, DamagedWrappedKeyLooksLikeAWrongPassphrase) {
  // AES-GCM cannot tell a flipped ciphertext bit from a wrong key: the slot simply does not open.
  std::string slot = add_key_slot(store_, kRepoId, key_, "pass", kFastScrypt);
  Bytes b = raw(slot_object(slot));
  auto j = nlohmann::json::parse(b.begin(), b.end());
  Bytes wrapped = from_base64(j.at("wrapped").get<std::string>());
  wrapped[20] ^= 0x01;
  edit_slot(slot, "wrapped", to_base64(wrapped));
  EXPECT_FALSE(open_key_slots(store_, kRepoId, "pass").has_value());
}

TEST_F(KeySlotTest, SlotMovedToAnotherRepositoryDoesNotOpen) {
  std::string slot = add_key_slot(store_, kRepoId, key_, "pass", kFastScrypt);

  // Copied into another repository's key directory: its id is part of what the wrap authenticates.
  pgdr::test::TempDir other_dir;
  storage::PosixStorage other(other_dir.path());
  other.write_all(slot_object(slot), raw(slot_object(slot)));
  EXPECT_FALSE(open_key_slots(other, "fedcba9876543210fedcba9876543210", "pass").has_value());
  // The same bytes still open where they belong.
  EXPECT_TRUE(open_key_slots(other, kRepoId, "pass").has_value());

  // Renamed to another slot id within the repository: the slot id is bound as well.
  std::string renamed = "00112233445566ff";
  put_raw(slot_object(renamed), raw(slot_object(slot)));
  store_.remove(slot_object(slot));
  EXPECT_FALSE(open_key_slots(store_, kRepoId, "pass").has_value());
}

TEST_F(KeySlotTest, SlotHoldingAKeyOfTheWrongLengthIsCorrupt) {
  // Built by hand with the real derivation: a well-formed, authentic slot wrapping 32 bytes.
  const std::string slot = "a1a2a3a4a5a6a7a8";
  Bytes salt = io::random_bytes(32);
  SecretBytes kek = io::scrypt("pass", salt, kFastScrypt, io::kAeadKeyBytes);
  io::Aead aead(kek.view());
  Bytes wrapped;
  aead.seal(io::random_bytes(32), to_bytes(std::string(kAadKeySlot) + kRepoId + " " + slot), wrapped);
  nlohmann::json j = {{"format", "pgdr-key-slot"}, {"version", 1},   {"kdf", "scrypt"},
                      {"n", kFastScrypt.n},         {"r", kFastScrypt.r}, {"p", kFastScrypt.p},
                      {"salt", to_base64(salt)},    {"wrapped", to_base64(wrapped)}};
  put_raw(slot_object(slot), as_bytes(j.dump()));

  Error e = error_of([&] { open_key_slots(store_, kRepoId, "pass"); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()),
            "key slot " + slot + " in " + store_.describe() + " holds a key of the wrong length");
}

TEST_F(KeySlotTest, MasterKeysAreRandomAndOfOneLength) {
  MasterKey other = MasterKey::generate();
  EXPECT_NE(hex(other.master()), hex(key_.master()));
  EXPECT_NE(hex(other.data_key()), hex(key_.data_key()));

  Error e = error_of([] { MasterKey short_key(SecretBytes(32)); });
  EXPECT_EQ(e.kind(), ErrorKind::internal);
  EXPECT_EQ(std::string(e.what()), "master key has the wrong length");

  // The derivation is a pure function of the master key.
  MasterKey same(key_.master().copy());
  EXPECT_EQ(hex(same.data_key()), hex(key_.data_key()));
  EXPECT_EQ(hex(same.id_key()), hex(key_.id_key()));
}

}  // namespace
}  // namespace pgdr::repo
