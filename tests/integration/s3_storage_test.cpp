// S3Storage against a real S3 server (s3rver): the shared Storage conformance suite, then what only
// an object store has (multipart uploads, abandoned uploads, listings longer than one page, errors
// for a missing bucket and wrong credentials).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "harness/s3_server.h"
#include "storage/s3/s3_storage.h"
#include "unit/storage/storage_conformance.h"

namespace pgdr::test {
namespace {

using storage::S3Storage;

// One server for the whole binary (starting s3rver costs about a second); every test gets its own
// key prefix, so tests never see each other's objects.
S3Server& shared_server() {
  static std::unique_ptr<S3Server> server = [] {
    auto s = std::make_unique<S3Server>("pgdr-conformance");
    s->export_credentials();
    return s;
  }();
  return *server;
}

std::string fresh_prefix() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "/repo";
}

storage::s3::S3Config config_for(const S3Server& server, const std::string& prefix) {
  storage::s3::S3Config c;
  c.endpoint = server.endpoint();
  c.bucket = server.bucket();
  c.region = S3Server::kRegion;
  c.prefix = prefix;
  c.addressing = storage::s3::S3Addressing::path;
  c.credentials.access_key_id = S3Server::kAccessKey;
  c.credentials.secret_access_key = SecretBytes(as_bytes(S3Server::kSecretKey));
  c.stall_timeout_ms = 10'000;
  c.retry.base_delay = std::chrono::milliseconds(20);
  return c;
}

struct S3Env {
  // Two DeleteObjects requests; writing them takes about 1.5 s on s3rver.
  static constexpr std::size_t kRemoveManyObjects = 1100;
  S3Env() : storage_(config_for(shared_server(), fresh_prefix())) {}
  ~S3Env() {
    try {
      for (const auto& o : storage_.list("")) storage_.remove(o.path);
    } catch (...) {
    }
  }
  storage::Storage& storage() { return storage_; }
  S3Storage storage_;
};

}  // namespace
}  // namespace pgdr::test

INSTANTIATE_TYPED_TEST_SUITE_P(S3, StorageConformance, pgdr::test::S3Env);

namespace pgdr::test {
namespace {

using storage::conformance::pattern;

class S3StorageTest : public ::testing::Test {
 protected:
  S3StorageTest() : store_(config_for(shared_server(), fresh_prefix())) {}
  S3Storage store_;
};

TEST_F(S3StorageTest, LargeObjectGoesUpInParallelPartsAndReadsBackWhole) {
  // 20 MiB + 3 bytes: parts of 8, 8 and 4 MiB + 3; initiate, three parts, complete.
  const Bytes data = pattern((20u << 20) + 3, 11);
  auto w = store_.create("packs/big");
  const std::uint64_t before = store_.requests_sent();
  for (std::size_t off = 0; off < data.size(); off += 1u << 20) {
    w->write(ByteView(data).subspan(off, std::min<std::size_t>(1u << 20, data.size() - off)));
  }
  // The two full parts go up before commit(), while the caller could still be writing.
  for (int i = 0; i < 200 && store_.requests_sent() - before < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(store_.requests_sent() - before, 3u);  // initiate and parts 1 and 2
  EXPECT_FALSE(store_.stat("packs/big").has_value());
  w->commit();
  EXPECT_EQ(store_.requests_sent() - before, 6u);  // then the last part, complete, and the stat above
  EXPECT_EQ(store_.stat("packs/big")->size_bytes, data.size());
  EXPECT_EQ(store_.read("packs/big"), data);
  // A range across the boundary of parts 1 and 2.
  const std::uint64_t at = (8u << 20) - 100;
  EXPECT_EQ(store_.read_range("packs/big", at, 300),
            Bytes(data.begin() + static_cast<std::ptrdiff_t>(at), data.begin() + static_cast<std::ptrdiff_t>(at + 300)));
}

TEST_F(S3StorageTest, ObjectOfOnePartIsOnePut) {
  const Bytes data = pattern(8u << 20, 5);
  const std::uint64_t before = store_.requests_sent();
  store_.write_all("packs/exact", data);
  EXPECT_EQ(store_.requests_sent() - before, 1u);
  EXPECT_EQ(store_.read("packs/exact"), data);
  // The server saw as many requests as the driver counted: none is sent twice unnoticed.
  // (s3rver's log is written asynchronously: wait for it to settle before and after.)
  auto settled_count = [] {
    std::size_t n = shared_server().requests_logged();
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const std::size_t again = shared_server().requests_logged();
      if (again == n && i >= 4) break;
      n = again;
    }
    return n;
  };
  const std::size_t logged = settled_count();
  store_.stat("packs/exact");
  EXPECT_EQ(settled_count(), logged + 1);
}

TEST_F(S3StorageTest, SmallNeighbouringRangesShareOneRequest) {
  const Bytes data = pattern(6u << 20, 9);
  store_.write_all("packs/p", data);
  auto slice = [&](std::uint64_t at, std::uint64_t n) {
    return Bytes(data.begin() + static_cast<std::ptrdiff_t>(at), data.begin() + static_cast<std::ptrdiff_t>(at + n));
  };
  const std::uint64_t before = store_.requests_sent();
  // A restore's reads of small files: many small ranges in one 4 MiB window.
  for (std::uint64_t at = 0; at < (4u << 20) - 70000; at += 65536) {
    ASSERT_EQ(store_.read_range("packs/p", at, 70000), slice(at, 70000)) << at;
  }
  EXPECT_EQ(store_.requests_sent() - before, 1u);
  // The second window holds what is left of the object; past its end is truncation, as ever.
  EXPECT_EQ(store_.read_range("packs/p", (6u << 20) - 10, 10), slice((6u << 20) - 10, 10));
  EXPECT_EQ(store_.requests_sent() - before, 2u);
  EXPECT_THROW(store_.read_range("packs/p", (6u << 20) - 10, 11), Error);
  EXPECT_THROW(store_.read_range("packs/p", 7u << 20, 1), Error);
  // Writing the object through the storage drops its windows.
  const Bytes other = pattern(100, 77);
  store_.write_all("packs/p", other);
  EXPECT_EQ(store_.read_range("packs/p", 10, 20), Bytes(other.begin() + 10, other.begin() + 30));
  store_.remove("packs/p");
  EXPECT_FALSE(store_.read_range("packs/p", 10, 20).has_value());
}

TEST_F(S3StorageTest, AbandonedMultipartUploadLeavesNothing) {
  store_.write_all("packs/old", as_bytes("old"));
  {
    auto w = store_.create("packs/old");
    w->write(pattern(17u << 20, 2));  // two parts already sent
  }
  EXPECT_EQ(store_.read("packs/old"), to_bytes("old"));
  {
    auto w = store_.create("packs/never");
    w->write(pattern(9u << 20, 3));
  }
  EXPECT_FALSE(store_.stat("packs/never").has_value());
  EXPECT_EQ(store_.list("packs").size(), 1u);
}

TEST_F(S3StorageTest, ListingsLongerThanOnePageAreFollowed) {
  // s3rver, like S3, answers at most 1000 keys a page.
  constexpr int kObjects = 1100;
  storage::conformance::run_threads(8, [&](int t) {
    for (int i = t; i < kObjects; i += 8) store_.write_all("many/o" + std::to_string(i), as_bytes("x"));
  });
  EXPECT_EQ(store_.list("many").size(), static_cast<std::size_t>(kObjects));
}

TEST_F(S3StorageTest, RemoveManyIsOneRequestPerBatchAndKeysNeedingEscapesGo) {
  // Names that XML and URLs both escape: what DeleteObjects names must be the keys that were written.
  const std::vector<std::string> odd = {"odd/a&b", "odd/<c> 'd\"", "odd/e%20f+g"};
  for (const auto& p : odd) store_.write_all(p, as_bytes("x"));
  ASSERT_EQ(store_.list("odd").size(), odd.size());
  // Counted in the server's log as requests answered 200: s3rver removes the keys of one request
  // concurrently and two of them may race to remove the directory they emptied, which it answers
  // with a 500 that the retry cures (S3 has no directories).
  auto batches = [] {
    shared_server().wait_for_log();
    return shared_server().requests_logged("POST", "?delete", "200");
  };
  std::size_t before = batches();
  store_.remove_many(odd);
  EXPECT_EQ(batches() - before, 1u);
  EXPECT_TRUE(store_.list("odd").empty());

  // Ten objects and a missing one in batches of three: four requests.
  store_.set_delete_batch_keys(3);
  std::vector<std::string> paths;
  for (int i = 0; i < 10; ++i) {
    paths.push_back("b/o" + std::to_string(i));
    store_.write_all(paths.back(), as_bytes("x"));
  }
  paths.insert(paths.begin() + 4, "b/missing");
  store_.write_all("b/kept", as_bytes("k"));
  before = batches();
  store_.remove_many(paths);
  EXPECT_EQ(batches() - before, 4u);
  EXPECT_EQ(storage::conformance::sorted_paths(store_.list("b")), std::vector<std::string>{"b/kept"});
}

TEST_F(S3StorageTest, RemoveManyInAMissingBucketIsNamed) {
  auto c = config_for(shared_server(), "p");
  c.bucket = "no-such-bucket";
  S3Storage s(std::move(c));
  try {
    s.remove_many({"x", "y/z"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_EQ(std::string(e.what()),
              "unable to remove 2 objects in s3://no-such-bucket/p (HTTP 404 NoSuchBucket: The specified bucket does "
              "not exist)");
  }
}

TEST_F(S3StorageTest, MissingBucketIsNamed) {
  auto c = config_for(shared_server(), "p");
  c.bucket = "no-such-bucket";
  S3Storage s(std::move(c));
  try {
    s.read("x");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_EQ(std::string(e.what()), "unable to read object s3://no-such-bucket/p/x (HTTP 404 NoSuchBucket: The specified bucket does not exist)");
    EXPECT_NE(e.hint().find("s3_bucket"), std::string::npos);
  }
  EXPECT_THROW(s.check_bucket(), Error);
}

// s3rver checks the access key id but not Signature Version 4 itself (its source says it is
// unimplemented); the signer is checked against AWS's published examples in the unit tests.
TEST_F(S3StorageTest, UnknownAccessKeyIsRefusedAndSecretNotShown) {
  auto c = config_for(shared_server(), "p");
  c.credentials.access_key_id = "AKIAUNKNOWN";
  c.credentials.secret_access_key = SecretBytes(as_bytes("not-the-secret-4242"));
  S3Storage s(std::move(c));
  try {
    s.write_all("x", as_bytes("data"));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::network);
    EXPECT_NE(what.find("unable to write object s3://pgdr-conformance/p/x (HTTP 403 InvalidAccessKeyId"), std::string::npos)
        << what;
    EXPECT_EQ(what.find("not-the-secret-4242"), std::string::npos);
    EXPECT_EQ(e.hint().find("not-the-secret-4242"), std::string::npos);
  }
}

}  // namespace
}  // namespace pgdr::test
