#include "repo/repository.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "repo/format.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::contains;
using test::error_of;

const std::string kPassphrase = "tr0ub4dor&3 is not a good passphrase";

class RepositoryTest : public test::RepoTestBase {
 protected:
  void create() { Repository::create(store_, "main", kPassphrase, kDefaultBlockBytes, kDefaultPackTargetBytes); }
  Repository open(std::string_view passphrase = kPassphrase) {
    return Repository::open(std::make_unique<storage::PosixStorage>(dir_.path()), "main", passphrase,
                            "$PGDR_PASSPHRASE");
  }
  Error open_error(std::string_view passphrase = kPassphrase) {
    return error_of([&] { open(passphrase); });
  }
  void edit_config(const std::string& field, const nlohmann::json& value) {
    Bytes b = raw(std::string(kRepoConfigObject));
    auto j = nlohmann::json::parse(b.begin(), b.end());
    if (value.is_null()) {
      j.erase(field);
    } else {
      j[field] = value;
    }
    put_raw(std::string(kRepoConfigObject), as_bytes(j.dump(2)));
  }
  std::string unreadable(const std::string& why) const {
    return "unreadable repository 'main' at " + store_.describe() + " (" + why + ")";
  }
};

TEST_F(RepositoryTest, CreateInAnEmptyDirectoryThenOpen) {
  create();
  auto objects = store_.list("");
  ASSERT_EQ(objects.size(), 2u);  // pgdr.repo and one key slot
  ASSERT_TRUE(store_.stat(kRepoConfigObject).has_value());
  auto slots = list_key_slots(store_);
  ASSERT_EQ(slots.size(), 1u);

  RepoSettings s = Repository::read_settings(store_, "main");
  EXPECT_EQ(s.version, kFormatVersion);
  EXPECT_EQ(s.id.size(), 32u);
  EXPECT_EQ(s.id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(s.block_bytes, kDefaultBlockBytes);
  EXPECT_EQ(s.pack_target_bytes, kDefaultPackTargetBytes);
  EXPECT_FALSE(s.created.empty());

  // pgdr.repo is plaintext and holds no secret.
  std::string config(as_chars(raw(std::string(kRepoConfigObject))));
  EXPECT_FALSE(contains(config, kPassphrase));
  auto j = nlohmann::json::parse(config);
  EXPECT_EQ(j.at("format"), "pgdr-repository");

  Repository repo = open();
  EXPECT_EQ(repo.name(), "main");
  EXPECT_EQ(repo.settings().id, s.id);
  EXPECT_EQ(repo.key_slot(), slots[0].slot_id);
  EXPECT_EQ(repo.describe(), "repository 'main' (" + store_.describe() + ")");
  EXPECT_EQ(repo.key().master().size(), kMasterKeyBytes);
  EXPECT_EQ(repo.store().describe(), store_.describe());

  // Two repositories never share a master key or an id.
  pgdr::test::TempDir other_dir;
  storage::PosixStorage other(other_dir.path());
  Repository::create(other, "other", kPassphrase, kDefaultBlockBytes, kDefaultPackTargetBytes);
  Repository second = Repository::open(std::make_unique<storage::PosixStorage>(other_dir.path()), "other",
                                       kPassphrase, "$PGDR_PASSPHRASE");
  EXPECT_NE(second.settings().id, repo.settings().id);
  EXPECT_NE(to_hex(second.key().master().view()), to_hex(repo.key().master().view()));
}

TEST_F(RepositoryTest, CreateIsRefusedWhenTheDirectoryIsNotEmpty) {
  store_.write_all("notes.txt", as_bytes("someone else's file"));
  Error e = error_of([&] { create(); });
  EXPECT_EQ(e.kind(), ErrorKind::config);
  EXPECT_EQ(std::string(e.what()), "refusing to create repository 'main': " + store_.describe() + " is not empty");
  EXPECT_EQ(e.hint(), "pgdr init never overwrites a repository; point [[repo]] path at a new directory");
  // Nothing was added beside the stranger's file.
  auto objects = store_.list("");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].path, "notes.txt");
}

TEST_F(RepositoryTest, CreateOverAnExistingRepositoryIsRefused) {
  create();
  std::string id = Repository::read_settings(store_, "main").id;
  Error e = error_of([&] { create(); });
  EXPECT_EQ(e.kind(), ErrorKind::config);
  EXPECT_EQ(std::string(e.what()), "refusing to create repository 'main': " + store_.describe() + " is not empty");
  EXPECT_EQ(Repository::read_settings(store_, "main").id, id);
  EXPECT_EQ(list_key_slots(store_).size(), 1u);
}

TEST_F(RepositoryTest, WrongPassphraseIsACryptoErrorThatNamesNoSecret) {
  create();
  const std::string wrong = "correct horse battery staple";
  Error e = open_error(wrong);
  EXPECT_EQ(e.kind(), ErrorKind::crypto);
  EXPECT_EQ(std::string(e.what()), "wrong passphrase: no key slot of repository 'main' at " + store_.describe() +
                                       " opens with the passphrase from $PGDR_PASSPHRASE");
  EXPECT_EQ(std::string(e.what()).rfind("wrong passphrase", 0), 0u);
  EXPECT_FALSE(contains(e.what(), wrong));
  EXPECT_FALSE(contains(e.what(), kPassphrase));
  EXPECT_FALSE(contains(e.hint(), wrong));
  EXPECT_FALSE(e.hint().empty());
}

TEST_F(RepositoryTest, SlotsAreBoundToTheRepositoryId) {
  create();
  // A pgdr.repo swapped in from elsewhere (another id) does not open with these slots.
  edit_config("id", "ffffffffffffffffffffffffffffffff");
  Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::crypto);
  EXPECT_EQ(std::string(e.what()).rfind("wrong passphrase", 0), 0u) << e.what();
}

TEST_F(RepositoryTest, UnknownFormatVersionIsRefused) {
  create();
  edit_config("version", 2);
  for (bool by_open : {true, false}) {
    Error e = by_open ? open_error() : error_of([&] { Repository::read_settings(store_, "main"); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "unsupported repository format version 2 in repository 'main' at " +
                                         store_.describe() + " (this pgdr reads version 1)");
    EXPECT_TRUE(contains(e.what(), "unsupported repository format version 2"));
    EXPECT_EQ(e.hint(), "use the pgdr release that wrote this repository");
  }
}

TEST_F(RepositoryTest, MissingRepositoryIsNotFound) {
  Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()), "no repository 'main' at " + store_.describe() + " (pgdr.repo missing)");
  EXPECT_EQ(e.hint(), "create it with 'pgdr init'");

  // A creation that died before writing pgdr.repo leaves no repository either.
  add_key_slot(store_, "0123456789abcdef0123456789abcdef", key_, kPassphrase, test::kFastScrypt);
  Error half = open_error();
  EXPECT_EQ(half.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(half.what()), std::string(e.what()));
}

TEST_F(RepositoryTest, RepositoryWithoutKeySlotsIsNotFound) {
  create();
  for (const auto& obj : store_.list(kKeysDir)) store_.remove(obj.path);
  Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()), "no key slot in " + store_.describe() + " (the repository cannot be opened)");
}

TEST_F(RepositoryTest, DamagedConfigIsCorrupt) {
  create();
  const Bytes good = raw(std::string(kRepoConfigObject));
  struct Case {
    std::string field;
    nlohmann::json value;  // null: removed
    std::string why;
  };
  const std::vector<Case> cases = {
      {"format", "pgdr-key-slot", "pgdr.repo is not a pgdr repository description"},
      {"id", nullptr, "pgdr.repo lacks a field"},
      {"block_size", "8192", "pgdr.repo lacks a field"},
      {"block_size", 1000, "impossible block_size"},
      {"block_size", 0, "impossible block_size"},
      {"block_size", 2u << 20, "impossible block_size"},
      {"pack_size", 1000, "impossible pack_size"},
      {"pack_size", 1ull << 40, "impossible pack_size"},
      // Numbers beyond the field's type were cast to it: 2^32 + 8192 became a block size of 8192,
      // and a float beyond 64 bits is undefined behaviour (as the manifest fuzz target found).
      {"block_size", (std::uint64_t{1} << 32) + 8192, "pgdr.repo lacks a field"},
      {"pack_size", 1e300, "pgdr.repo lacks a field"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.field + " = " + c.value.dump());
    put_raw(std::string(kRepoConfigObject), good);
    edit_config(c.field, c.value);
    Error e = open_error();
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), unreadable(c.why));
  }

  put_raw(std::string(kRepoConfigObject), good);
  cut(std::string(kRepoConfigObject), good.size() / 2);
  Error e = open_error();
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), unreadable("pgdr.repo is not JSON"));
}

}  // namespace
}  // namespace pgdr::repo
