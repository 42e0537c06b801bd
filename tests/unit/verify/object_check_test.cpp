// The WAL part of the checksums check: objects are checked in groups hashed side by side, and
// each damaged one must still be named on its own, whatever its group and its neighbours.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../repo/repo_test_support.h"
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

class ObjectCheckWalTest : public repo::test::RepoTestBase, public ::testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    repo::Repository::create(store_, "main", "pass", repo::kDefaultBlockBytes, repo::kDefaultPackTargetBytes);
    repo_ = std::make_unique<repo::Repository>(
        repo::Repository::open(std::make_unique<storage::PosixStorage>(dir_.path()), "main", "pass", "test"));
    // Nine objects: two full groups of four and one alone; sizes differ so lanes end apart.
    for (int i = 1; i <= 9; ++i) {
      contents_.push_back(repo::test::mixed_data(200000 + 70001 * static_cast<std::size_t>(i), static_cast<std::uint32_t>(i)));
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
  EXPECT_EQ(r.status, Status::pass) << r.summary;
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
  EXPECT_EQ(r.status, Status::fail);
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

INSTANTIATE_TEST_SUITE_P(Threads, ObjectCheckWalTest, ::testing::Values(1, 2));

}  // namespace
}  // namespace pgdr::verify
