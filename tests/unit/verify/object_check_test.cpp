// The WAL part of the checksums check: objects are checked in groups hashed side by side, and
// each damaged one must still be named on its own, whatever its group and its neighbours.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../repo/repo_test_support.h"
#include "catalog/catalog.h"
#include "core/little_endian.h"
#include "io/sha256.h"
#include "repo/format.h"
#include "repo/sealed_stream.h"
#include "repo/wal_archive.h"
#include "verify/checks.h"

namespace pgdr::verify {
namespace {

std::string segment(int n) {
  char buf[25];
  std::snprintf(buf, sizeof buf, "0000000100000000%08X", n);
  return buf;
}

// Content that passes repo::wal_file_problem: a first page header of PostgreSQL 15 for segment n
// of segment_bytes, then mixed bytes. Segment sizes differ so lanes end apart.
Bytes segment_content(int n, std::uint64_t segment_bytes) {
  Bytes b = repo::test::mixed_data(segment_bytes, static_cast<std::uint32_t>(n));
  Bytes h;
  put_u16le(h, 0xD110);  // XLOG_PAGE_MAGIC of 15
  put_u16le(h, 0x0002);  // XLP_LONG_HEADER
  put_u32le(h, 1);
  put_u64le(h, static_cast<std::uint64_t>(n) * segment_bytes);
  put_u32le(h, 0);
  put_u32le(h, 0);  // padding
  put_u64le(h, 7000000000000000042ull);
  put_u32le(h, static_cast<std::uint32_t>(segment_bytes));
  put_u32le(h, 8192);
  std::copy(h.begin(), h.end(), b.begin());
  return b;
}

class ObjectCheckWalTest : public repo::test::RepoTestBase, public ::testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    repo::Repository::create(store_, "main", "pass", repo::kDefaultBlockBytes, repo::kDefaultPackTargetBytes);
    repo_ = std::make_unique<repo::Repository>(
        repo::Repository::open(std::make_unique<storage::PosixStorage>(dir_.path()), "main", "pass", "test"));
    // Nine objects: two full groups of four and one alone; sizes (1 to 4 MiB) differ so lanes end
    // apart.
    for (int i = 1; i <= 9; ++i) {
      contents_.push_back(segment_content(i, std::uint64_t{1} << (20 + i % 3)));
      repo::push_wal_file(*repo_, segment(i), contents_.back());
    }
  }
  CheckResult run(std::vector<std::string>& damaged_wal) {
    ObjectCheckOptions o;
    o.full = true;
    o.process_max = GetParam();
    return check_objects(*repo_, {}, {}, nullptr, o, damaged_wal);
  }
  std::unique_ptr<repo::Repository> repo_;
  std::vector<Bytes> contents_;
};

TEST_P(ObjectCheckWalTest, HealthyObjectsPass) {
  std::vector<std::string> damaged;
  CheckResult r = run(damaged);
  EXPECT_EQ(r.status, CheckStatus::pass) << r.summary;
  EXPECT_TRUE(damaged.empty());
  EXPECT_EQ(r.details["wal_objects_checked"], 9);
  std::uint64_t stored = 0;
  for (int i = 1; i <= 9; ++i) stored += store_.stat(repo::wal_object(segment(i)))->size_bytes;
  EXPECT_EQ(r.details["bytes_read"], stored);
}

TEST_P(ObjectCheckWalTest, EachDamagedObjectIsNamedWhateverItsGroup) {
  // 2: a flipped byte (authentication fails mid-object); 4: the header records another digest
  // (only the SHA-256 can tell); 9: cut short, alone in its group.
  std::string flipped = repo::wal_object(segment(2));
  flip_byte(flipped, raw(flipped).size() / 2);

  std::string header = nlohmann::json{{"name", segment(4)}, {"size", contents_[3].size()},
                                      {"sha256", to_hex(io::Sha256::of(contents_[0]))}}.dump();
  Bytes head = to_bytes("PGDRWAL1");
  put_u32le(head, static_cast<std::uint32_t>(header.size()));
  head.insert(head.end(), header.begin(), header.end());
  repo::SealedWriter out(store_, repo::wal_object(segment(4)), repo_->key());
  out.write(head);
  out.write(contents_[3]);
  out.commit();

  std::string cut_object = repo::wal_object(segment(9));
  cut(cut_object, raw(cut_object).size() - 50);

  std::vector<std::string> damaged;
  CheckResult r = run(damaged);
  EXPECT_EQ(r.status, CheckStatus::fail);
  // In name order, though objects are checked largest first (segment 9 first).
  EXPECT_EQ(damaged, (std::vector<std::string>{segment(2), segment(4), segment(9)}));
  ASSERT_EQ(r.findings.size(), 3u);
  std::vector<std::string> messages;
  for (const auto& f : r.findings) {
    EXPECT_EQ(f.severity, "critical");
    messages.push_back(f.message);
  }
  auto message_about = [&](const std::string& object) {
    auto it = std::find_if(messages.begin(), messages.end(), [&](const auto& m) { return repo::test::contains(m, object); });
    return it == messages.end() ? std::string("<none>") : *it;
  };
  EXPECT_TRUE(repo::test::contains(message_about(flipped), "fails authentication")) << message_about(flipped);
  EXPECT_EQ(message_about(repo::wal_object(segment(4))), "corrupt WAL object " + repo::wal_object(segment(4)) + " in " +
                                                             repo_->describe() + " (SHA-256 mismatch)");
  EXPECT_NE(message_about(cut_object), "<none>");
  EXPECT_EQ(r.details["wal_objects_checked"], 9);
}

TEST_P(ObjectCheckWalTest, AnObjectThatIsNoWalOfTheClusterIsNamed) {
  // Intact objects (their digests match) whose content is not what the name says: zeros under
  // segment 3, segment 6's content under segment 7's name; segment 8 stays valid.
  repo::overwrite_wal_file(*repo_, segment(3), Bytes(contents_[2].size(), 0));
  repo::overwrite_wal_file(*repo_, segment(7), contents_[5]);
  std::vector<std::string> damaged;
  CheckResult r = run(damaged);
  EXPECT_EQ(r.status, CheckStatus::fail);
  EXPECT_EQ(damaged, (std::vector<std::string>{segment(3), segment(7)}));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].message, "invalid WAL object " + repo::wal_object(segment(3)) + " in " + repo_->describe() +
                                       " (its first page header is all zeros, not written WAL)");
  EXPECT_TRUE(repo::test::contains(r.findings[1].message, "invalid WAL object " + repo::wal_object(segment(7))))
      << r.findings[1].message;
  EXPECT_TRUE(repo::test::contains(r.findings[1].message, "the segment of another position")) << r.findings[1].message;
}

TEST_P(ObjectCheckWalTest, ObjectsProvenBeforeAreAuthenticatedUnlessReplacedSince) {
  // 1 to 7 verified by an earlier run, 2 since replaced (the audit log says so), 8 and 9 new; 5
  // damaged since in its last frame, 6 holds zeros that authenticate (content no earlier run
  // could have proven, caught by the first page check that authentication keeps).
  auto catalog = catalog::Catalog::open(dir_.path() + "/catalog.db");
  std::vector<std::string> verified;
  for (int i = 1; i <= 7; ++i) verified.push_back(repo::wal_object(segment(i)));
  const SystemTime now = std::chrono::system_clock::now();
  catalog.mark_verified(repo_->name(), verified, now - std::chrono::hours(1));
  std::string flipped = repo::wal_object(segment(5));
  flip_byte(flipped, raw(flipped).size() - 20);
  repo::overwrite_wal_file(*repo_, segment(6), Bytes(contents_[5].size(), 0));

  ObjectCheckOptions o;
  o.process_max = GetParam();
  o.now = now;
  o.reverify_after = std::chrono::milliseconds(0);
  repo::AuditLog log;
  log.entries.push_back(repo::wal_replacement_entry(segment(2), "replaced"));
  o.replaced = repo::replaced_wal_objects(log);
  EXPECT_EQ(o.replaced, (std::set<std::string>{repo::wal_object(segment(2))}));
  std::vector<std::string> damaged;
  CheckResult r = check_objects(*repo_, {}, {}, &catalog, o, damaged);
  EXPECT_EQ(r.details["wal_objects_checked"], 9);
  EXPECT_EQ(r.details["wal_objects_authenticated"], 6);
  EXPECT_EQ(r.details["wal_objects_decoded"], 3);
  EXPECT_EQ(damaged, (std::vector<std::string>{segment(5), segment(6)}));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_TRUE(repo::test::contains(r.findings[0].message, "corrupt object " + flipped)) << r.findings[0].message;
  EXPECT_TRUE(repo::test::contains(r.findings[0].message, "fails authentication")) << r.findings[0].message;
  EXPECT_EQ(r.findings[1].message, "invalid WAL object " + repo::wal_object(segment(6)) + " in " + repo_->describe() +
                                       " (its first page header is all zeros, not written WAL)");
  // Damage is forgotten and 8 and 9 now proven: the next run proves 5 and 6 again (and 2, ever
  // after its replacement), the six others authenticated only.
  CheckResult again = check_objects(*repo_, {}, {}, &catalog, o, damaged);
  EXPECT_EQ(again.details["wal_objects_decoded"], 3);
  EXPECT_EQ(again.details["wal_objects_authenticated"], 6);
  EXPECT_EQ(again.status, CheckStatus::fail);
}

INSTANTIATE_TEST_SUITE_P(Threads, ObjectCheckWalTest, ::testing::Values(1, 2));

}  // namespace
}  // namespace pgdr::verify
