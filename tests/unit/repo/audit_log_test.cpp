#include "repo/audit_log.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <thread>

#include "io/sha256.h"
#include "repo/format.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::contains;

const std::string kPassphrase = "audit log test passphrase";

class AuditLogTest : public test::RepoTestBase {
 protected:
  void SetUp() override { Repository::create(store_, "main", kPassphrase, kDefaultBlockBytes, kDefaultPackTargetBytes); }
  Repository open() {
    return Repository::open(std::make_unique<storage::PosixStorage>(dir_.path()), "main", kPassphrase, "$X");
  }
  AuditEntry entry(const std::string& what) {
    AuditEntry e;
    e.command = "backup";
    e.what = what;
    e.result = "OK";
    e.details = "12 files";
    return e;
  }
};

TEST_F(AuditLogTest, EntriesChainBySha256OfThePreviousPlaintext) {
  Repository repo = open();
  AuditEntry a = append_audit(repo, entry("snapshot A"));
  AuditEntry b = append_audit(repo, entry("snapshot B"));
  EXPECT_EQ(a.seq, 1u);
  EXPECT_EQ(b.seq, 2u);
  EXPECT_EQ(a.prev_sha256, std::string(64, '0'));
  EXPECT_EQ(b.prev_sha256, to_hex(io::Sha256::of(as_bytes(audit_entry_json(a)))));
  EXPECT_EQ(a.user, current_user_name());
  EXPECT_EQ(a.host, current_host_name());
  EXPECT_FALSE(a.time.empty());
  AuditLog log = read_audit(repo);
  EXPECT_TRUE(log.intact()) << log.problems.front();
  ASSERT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(log.entries[1].what, "snapshot B");
  EXPECT_TRUE(store_.stat("audit/0000000000000001").has_value());
  // Nothing of the entry is readable without the key.
  Bytes stored = raw("audit/0000000000000002");
  EXPECT_FALSE(contains(as_chars(stored), "snapshot B"));
}

TEST_F(AuditLogTest, AChangedByteIsReported) {
  Repository repo = open();
  for (int i = 0; i < 3; ++i) append_audit(repo, entry("snapshot " + std::to_string(i)));
  flip_byte("audit/0000000000000002", 30);
  AuditLog log = read_audit(repo);
  ASSERT_FALSE(log.intact());
  EXPECT_TRUE(contains(log.problems.front(), "audit/0000000000000002")) << log.problems.front();
  EXPECT_TRUE(contains(log.problems.front(), "fails authentication")) << log.problems.front();
}

TEST_F(AuditLogTest, ARemovedMiddleEntryIsReported) {
  Repository repo = open();
  for (int i = 0; i < 4; ++i) append_audit(repo, entry("snapshot " + std::to_string(i)));
  store_.remove("audit/0000000000000002");
  AuditLog log = read_audit(repo);
  ASSERT_FALSE(log.intact());
  EXPECT_EQ(log.problems.front(), "entries audit/0000000000000002 to audit/0000000000000002 are missing");
  EXPECT_EQ(log.entries.size(), 3u);
}

TEST_F(AuditLogTest, AnEntryReplacedByAnotherValidOneBreaksTheChain) {
  Repository repo = open();
  for (int i = 0; i < 3; ++i) append_audit(repo, entry("snapshot " + std::to_string(i)));
  // A forger with the key rewrites entry 2 (sealed properly under its own name): entry 3 no
  // longer follows it.
  AuditEntry forged = entry("nothing happened");
  forged.seq = 2;
  forged.time = "2026-01-01T00:00:00.000Z";
  forged.user = "mallory";
  forged.host = "h";
  forged.prev_sha256 = read_audit(repo).entries[1].prev_sha256;
  put_raw("audit/0000000000000002", seal_audit_entry(repo.key(), "audit/0000000000000002", audit_entry_json(forged)));
  AuditLog log = read_audit(repo);
  ASSERT_FALSE(log.intact());
  EXPECT_TRUE(contains(log.problems.front(), "audit/0000000000000003 does not follow")) << log.problems.front();
}

TEST_F(AuditLogTest, AnEntryMovedToAnotherNameFailsAuthentication) {
  Repository repo = open();
  for (int i = 0; i < 2; ++i) append_audit(repo, entry("snapshot " + std::to_string(i)));
  put_raw("audit/0000000000000003", raw("audit/0000000000000002"));
  AuditLog log = read_audit(repo);
  ASSERT_FALSE(log.intact());
  EXPECT_TRUE(contains(log.problems.back(), "audit/0000000000000003")) << log.problems.back();
}

TEST_F(AuditLogTest, ConcurrentAppendersNeverForkTheChain) {
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      Repository repo = open();
      for (int i = 0; i < kEach; ++i) append_audit(repo, entry("t" + std::to_string(t) + " #" + std::to_string(i)));
    });
  for (auto& t : threads) t.join();
  AuditLog log = read_audit(open());
  EXPECT_TRUE(log.intact()) << (log.problems.empty() ? "" : log.problems.front());
  ASSERT_EQ(log.entries.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::string> whats;
  for (const auto& e : log.entries) whats.insert(e.what);
  EXPECT_EQ(whats.size(), static_cast<std::size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace pgdr::repo
