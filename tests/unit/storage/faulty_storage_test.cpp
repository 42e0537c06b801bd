#include "storage/faulty_storage.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "storage/posix/posix_storage.h"
#include "storage_conformance.h"
#include "temp_dir.h"

namespace pgdr::storage {
namespace {

using pgdr::test::TempDir;

// With no fault set, the decorator must be invisible: it passes the whole conformance suite.
struct FaultyOverPosixEnv {
  Storage& storage() { return faulty; }
  TempDir dir;
  PosixStorage posix{dir.path()};
  FaultyStorage faulty{posix};
};

}  // namespace
}  // namespace pgdr::storage

INSTANTIATE_TYPED_TEST_SUITE_P(FaultyOverPosix, StorageConformance, pgdr::storage::FaultyOverPosixEnv);

namespace pgdr::storage {
namespace {

class FaultyStorageTest : public ::testing::Test {
 protected:
  TempDir dir_;
  PosixStorage posix_{dir_.path()};
  FaultyStorage faulty_{posix_};
};

TEST_F(FaultyStorageTest, ForwardsDescriptionAndCapabilities) {
  EXPECT_EQ(faulty_.describe(), posix_.describe());
  EXPECT_TRUE(faulty_.capabilities().atomic_exclusive_create);
}

TEST_F(FaultyStorageTest, WritesFailWhenTheDiskIsFull) {
  faulty_.fail_writes_after_bytes(10);
  auto w = faulty_.create("packs/p");
  w->write(as_bytes("123456"));
  try {
    w->write(as_bytes("789abc"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(std::string(e.what()),
              "unable to write object: " + posix_.describe() + "/packs/p (No space left on device)");
    EXPECT_FALSE(e.hint().empty());
  }
  // The part that fitted went through, as on a real disk; the short object is never published.
  EXPECT_EQ(w->size_bytes(), 10u);
  EXPECT_THROW(w->commit(), Error);
  w.reset();
  EXPECT_TRUE(posix_.list("").empty());

  EXPECT_THROW(faulty_.create_exclusive("lock", as_bytes("x")), Error);
  EXPECT_FALSE(posix_.read("lock").has_value());

  faulty_.clear_faults();
  faulty_.write_all("packs/p", as_bytes("now it fits"));
  EXPECT_EQ(posix_.read("packs/p"), to_bytes("now it fits"));
}

TEST_F(FaultyStorageTest, CreateExclusiveIsAllOrNothing) {
  faulty_.fail_writes_after_bytes(3);
  EXPECT_THROW(faulty_.create_exclusive("lock", as_bytes("four")), Error);
  EXPECT_TRUE(faulty_.create_exclusive("lock", as_bytes("thr")));
  EXPECT_EQ(faulty_.counts().bytes_written, 3u);
}

TEST_F(FaultyStorageTest, TheNthCommitFails) {
  faulty_.fail_commit(2);
  faulty_.write_all("one", as_bytes("1"));
  try {
    faulty_.write_all("two", as_bytes("2"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(std::string(e.what()),
              "unable to commit object: " + posix_.describe() + "/two (Input/output error)");
  }
  faulty_.write_all("three", as_bytes("3"));
  EXPECT_EQ(conformance::sorted_paths(posix_.list("")), (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(faulty_.counts().commit, 3u);
}

TEST_F(FaultyStorageTest, AnInterruptionStopsTheNthChangeAndLeavesTheLockAlone) {
  faulty_.interrupt_after_changes(2);
  faulty_.write_all("a", as_bytes("1"));
  faulty_.write_all("locks/writer", as_bytes("l"));  // not counted
  faulty_.remove("a");
  auto error = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::internal;
  };
  EXPECT_EQ(error([&] { faulty_.write_all("b", as_bytes("2")); }), ErrorKind::interrupted);
  EXPECT_TRUE(faulty_.interrupted());
  faulty_.write_all("c", as_bytes("3"));  // fired once: disarmed
  EXPECT_EQ(conformance::sorted_paths(posix_.list("")), (std::vector<std::string>{"c", "locks/writer"}));

  // Removals only, and a bulk removal goes one object at a time so that it stops in between.
  faulty_.write_all("d", as_bytes("4"));
  faulty_.write_all("e", as_bytes("5"));
  faulty_.interrupt_after_changes(1, false);
  faulty_.write_all("f", as_bytes("6"));  // writes not counted
  EXPECT_EQ(error([&] { faulty_.remove_many({"c", "d", "e"}); }), ErrorKind::interrupted);
  EXPECT_EQ(conformance::sorted_paths(posix_.list("")), (std::vector<std::string>{"d", "e", "f", "locks/writer"}));
  EXPECT_EQ(faulty_.remove_many_calls(), (std::vector<std::vector<std::string>>{{"c", "d", "e"}}));
}

TEST_F(FaultyStorageTest, CorruptReadsFlipAByteUnderThePrefix) {
  posix_.write_all("packs/a", as_bytes("abcdef"));
  posix_.write_all("index/a", as_bytes("abcdef"));
  faulty_.corrupt_reads("packs/");
  Bytes bad = to_bytes("abcdef");
  bad[3] ^= 0xff;
  EXPECT_EQ(faulty_.read("packs/a"), bad);
  Bytes bad_range = to_bytes("bcd");
  bad_range[1] ^= 0xff;
  EXPECT_EQ(faulty_.read_range("packs/a", 1, 3), bad_range);
  EXPECT_EQ(faulty_.read("index/a"), to_bytes("abcdef"));
  EXPECT_EQ(posix_.read("packs/a"), to_bytes("abcdef"));  // the stored bytes are untouched
  EXPECT_FALSE(faulty_.read("packs/missing").has_value());
}

TEST_F(FaultyStorageTest, TruncatedReadsLookLikeAShortObject) {
  posix_.write_all("packs/a", as_bytes("0123456789"));
  faulty_.truncate_reads("packs/", 4);
  EXPECT_EQ(faulty_.read("packs/a"), to_bytes("0123"));
  EXPECT_EQ(faulty_.read_range("packs/a", 1, 3), to_bytes("123"));
  EXPECT_EQ(faulty_.stat("packs/a")->size_bytes, 4u);
  EXPECT_EQ(faulty_.list("packs").at(0).size_bytes, 4u);
  try {
    faulty_.read_range("packs/a", 2, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()),
              "object truncated: " + posix_.describe() + "/packs/a ends at 4 bytes, wanted 6");
  }
}

TEST_F(FaultyStorageTest, CountsCallsPerMethod) {
  faulty_.write_all("a", as_bytes("12345"));
  faulty_.read("a");
  faulty_.read("a");
  faulty_.read_range("a", 0, 1);
  faulty_.stat("a");
  faulty_.list("");
  faulty_.create_exclusive("b", as_bytes("xy"));
  faulty_.remove("b");
  faulty_.write_all("c", as_bytes("z"));
  faulty_.remove_many({"a", "c", "never"});
  auto c = faulty_.counts();
  EXPECT_EQ(c.create, 2u);
  EXPECT_EQ(c.write, 2u);
  EXPECT_EQ(c.commit, 2u);
  EXPECT_EQ(c.read, 2u);
  EXPECT_EQ(c.read_range, 1u);
  EXPECT_EQ(c.stat, 1u);
  EXPECT_EQ(c.list, 1u);
  EXPECT_EQ(c.create_exclusive, 1u);
  EXPECT_EQ(c.remove, 1u);
  EXPECT_EQ(c.remove_many, 1u);
  EXPECT_EQ(c.bytes_written, 8u);
  EXPECT_TRUE(faulty_.list("").empty());
  faulty_.reset_counts();
  EXPECT_EQ(faulty_.counts().read, 0u);
}

TEST_F(FaultyStorageTest, DiskFullIsSharedByConcurrentWriters) {
  faulty_.fail_writes_after_bytes(1000);
  std::atomic<int> failures{0};
  conformance::run_threads(4, [&](int t) {
    auto w = faulty_.create("w" + std::to_string(t));
    try {
      for (int i = 0; i < 10; ++i) w->write(Bytes(100, 0));
      w->commit();
    } catch (const Error&) {
      ++failures;
    }
  });
  EXPECT_GE(failures.load(), 3);
  EXPECT_EQ(faulty_.counts().bytes_written, 1000u);
}

}  // namespace
}  // namespace pgdr::storage
