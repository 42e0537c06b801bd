// The Storage conformance suite: the contracts of storage/storage.h, checked the same way for every
// driver and wrapper. A driver's test supplies an environment type, which is the driver's factory:
//
//   struct PosixEnv {
//     PosixEnv();                          // a fresh, empty storage for one test
//     ~PosixEnv();                         // removes whatever the test left
//     pgdr::storage::Storage& storage();
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Posix, StorageConformance, PosixEnv);
//
// An environment may declare `static constexpr std::size_t kRemoveManyObjects` to say how many
// objects RemoveMany writes and removes in one call (default 50). A driver that batches removals
// declares more than one batch holds (S3: 1100 against 1000 keys a request) where writing them is
// cheap; the local directory keeps the default, since each write there is fsync'd.
//
// This is a type-parameterised suite so that the header may be included by several test files of
// one binary, each instantiating it for its own environment.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "storage/storage.h"

namespace pgdr::storage::conformance {

inline Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 31 + (i >> 8));
  return b;
}

inline std::vector<std::string> sorted_paths(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> paths;
  for (const ObjectInfo& o : objects) paths.push_back(o.path);
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Runs body(i) on n threads; rethrows the first exception once all have finished.
inline void run_threads(int n, const std::function<void(int)>& body) {
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      try {
        body(i);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// The kind of the Error that f throws; fails the test when it throws nothing or something else.
template <typename F>
ErrorKind error_kind_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-pgdr exception: " << e.what();
    return ErrorKind::internal;
  }
  ADD_FAILURE() << "did not throw";
  return ErrorKind::internal;
}

}  // namespace pgdr::storage::conformance

template <typename Env>
class StorageConformance : public ::testing::Test {
 protected:
  pgdr::storage::Storage& storage() { return env_.storage(); }

 private:
  Env env_;
};

TYPED_TEST_SUITE_P(StorageConformance);

TYPED_TEST_P(StorageConformance, WriteThenRead) {
  using namespace pgdr;
  using namespace pgdr::storage::conformance;
  auto& s = this->storage();
  const Bytes data = pattern(100000, 7);
  auto w = s.create("dir/object");
  w->write(ByteView(data).first(1000));
  w->write(ByteView(data).subspan(1000));
  EXPECT_EQ(w->size_bytes(), data.size());
  w->commit();
  w.reset();

  auto got = s.read("dir/object");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, data);
  auto info = s.stat("dir/object");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->path, "dir/object");
  EXPECT_EQ(info->size_bytes, data.size());
}

TYPED_TEST_P(StorageConformance, EmptyObjectExists) {
  using namespace pgdr;
  auto& s = this->storage();
  s.write_all("empty", ByteView());
  auto got = s.read("empty");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->empty());
  ASSERT_TRUE(s.stat("empty").has_value());
  EXPECT_EQ(s.stat("empty")->size_bytes, 0u);
}

TYPED_TEST_P(StorageConformance, CommitReplacesExistingObject) {
  using namespace pgdr;
  auto& s = this->storage();
  s.write_all("a/b", as_bytes("old content"));
  auto w = s.create("a/b");
  w->write(as_bytes("new"));
  // Until commit the old object is what readers see.
  EXPECT_EQ(s.read("a/b"), to_bytes("old content"));
  w->commit();
  EXPECT_EQ(s.read("a/b"), to_bytes("new"));
  EXPECT_EQ(s.stat("a/b")->size_bytes, 3u);
  EXPECT_EQ(s.list("a").size(), 1u);
}

TYPED_TEST_P(StorageConformance, UncommittedWriterLeavesNothing) {
  using namespace pgdr;
  using namespace pgdr::storage::conformance;
  auto& s = this->storage();
  {
    auto w = s.create("x/pending");
    w->write(pattern(5000, 1));
    EXPECT_FALSE(s.read("x/pending").has_value());
    EXPECT_FALSE(s.stat("x/pending").has_value());
    EXPECT_TRUE(s.list("x").empty());
    EXPECT_TRUE(s.list("").empty());
  }
  EXPECT_FALSE(s.read("x/pending").has_value());
  EXPECT_FALSE(s.stat("x/pending").has_value());
  EXPECT_TRUE(s.list("").empty());

  // An abandoned replacement leaves the old object as it was.
  s.write_all("x/kept", as_bytes("kept"));
  {
    auto w = s.create("x/kept");
    w->write(as_bytes("discarded"));
  }
  EXPECT_EQ(s.read("x/kept"), to_bytes("kept"));
  EXPECT_EQ(sorted_paths(s.list("")), std::vector<std::string>{"x/kept"});
}

TYPED_TEST_P(StorageConformance, MissingObjectsAreAbsent) {
  auto& s = this->storage();
  EXPECT_FALSE(s.read("nothing").has_value());
  EXPECT_FALSE(s.read("no/such/dir/object").has_value());
  EXPECT_FALSE(s.read_range("nothing", 0, 1).has_value());
  EXPECT_FALSE(s.stat("nothing").has_value());
  EXPECT_TRUE(s.list("nothing").empty());
  EXPECT_TRUE(s.list("").empty());

  // A name below an object, or a "directory" holding objects, is not an object either.
  s.write_all("file", pgdr::as_bytes("x"));
  s.write_all("dir/inner", pgdr::as_bytes("y"));
  EXPECT_FALSE(s.read("file/below").has_value());
  EXPECT_FALSE(s.stat("file/below").has_value());
  EXPECT_FALSE(s.read("dir").has_value());
  EXPECT_FALSE(s.read_range("dir", 0, 0).has_value());
  EXPECT_FALSE(s.stat("dir").has_value());
  EXPECT_TRUE(s.list("file").empty());
}

TYPED_TEST_P(StorageConformance, ReadRange) {
  using namespace pgdr;
  using namespace pgdr::storage::conformance;
  auto& s = this->storage();
  const Bytes data = pattern(4096, 3);
  s.write_all("packs/p1", data);

  EXPECT_EQ(s.read_range("packs/p1", 0, 4096), data);
  EXPECT_EQ(s.read_range("packs/p1", 100, 50), Bytes(data.begin() + 100, data.begin() + 150));
  EXPECT_EQ(s.read_range("packs/p1", 4000, 96), Bytes(data.begin() + 4000, data.end()));
  EXPECT_EQ(s.read_range("packs/p1", 4096, 0), Bytes());

  try {
    s.read_range("packs/p1", 4000, 100);
    FAIL() << "read past the end did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()),
              "object truncated: " + s.describe() + "/packs/p1 ends at 4096 bytes, wanted 4100");
  }
  EXPECT_EQ(error_kind_of([&] { s.read_range("packs/p1", 5000, 1); }), ErrorKind::corrupt);
  EXPECT_EQ(error_kind_of([&] { s.read_range("packs/p1", 1, UINT64_MAX); }), ErrorKind::corrupt);
}

TYPED_TEST_P(StorageConformance, CreateExclusive) {
  using namespace pgdr;
  auto& s = this->storage();
  EXPECT_TRUE(s.create_exclusive("locks/lock", as_bytes("first")));
  EXPECT_FALSE(s.create_exclusive("locks/lock", as_bytes("second")));
  EXPECT_EQ(s.read("locks/lock"), to_bytes("first"));
  EXPECT_EQ(s.list("locks").size(), 1u);

  s.remove("locks/lock");
  EXPECT_TRUE(s.create_exclusive("locks/lock", as_bytes("third")));
  EXPECT_EQ(s.read("locks/lock"), to_bytes("third"));
}

TYPED_TEST_P(StorageConformance, CreateExclusiveHasOneWinner) {
  using namespace pgdr;
  using namespace pgdr::storage::conformance;
  auto& s = this->storage();
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::atomic<int> winner{-1};
  run_threads(kThreads, [&](int i) {
    if (s.create_exclusive("race", as_bytes("thread " + std::to_string(i)))) {
      ++winners;
      winner = i;
    }
  });
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(s.read("race"), to_bytes("thread " + std::to_string(winner.load())));
  EXPECT_EQ(s.list("").size(), 1u);
}

TYPED_TEST_P(StorageConformance, ListWithPrefixAndNesting) {
  using namespace pgdr;
  using std::string;
  using Paths = std::vector<string>;
  using pgdr::storage::conformance::sorted_paths;
  auto& s = this->storage();
  s.write_all("a/one", as_bytes("1"));
  s.write_all("a/deep/er/two", as_bytes("22"));
  s.write_all("ab/three", as_bytes("333"));
  s.write_all("a.b", as_bytes("4444"));
  s.write_all("top", as_bytes("55555"));

  EXPECT_EQ(sorted_paths(s.list("a")), (Paths{"a/deep/er/two", "a/one"}));
  EXPECT_EQ(sorted_paths(s.list("a/deep")), (Paths{"a/deep/er/two"}));
  EXPECT_EQ(sorted_paths(s.list("ab")), (Paths{"ab/three"}));
  EXPECT_EQ(sorted_paths(s.list("")), (Paths{"a.b", "a/deep/er/two", "a/one", "ab/three", "top"}));
  EXPECT_TRUE(s.list("a/on").empty());
  EXPECT_TRUE(s.list("top").empty());

  for (const auto& o : s.list("")) {
    auto data = s.read(o.path);
    ASSERT_TRUE(data.has_value()) << o.path;
    EXPECT_EQ(o.size_bytes, data->size()) << o.path;
  }
}

TYPED_TEST_P(StorageConformance, Remove) {
  using namespace pgdr;
  auto& s = this->storage();
  s.remove("never/existed");
  s.write_all("r/x", as_bytes("x"));
  s.write_all("r/y", as_bytes("y"));
  s.remove("r/x");
  EXPECT_FALSE(s.read("r/x").has_value());
  EXPECT_FALSE(s.stat("r/x").has_value());
  EXPECT_EQ(s.list("r").size(), 1u);
  s.remove("r/x");
  s.remove("r");  // a prefix holding objects is not an object: nothing happens
  EXPECT_EQ(s.read("r/y"), to_bytes("y"));
}

TYPED_TEST_P(StorageConformance, RemoveMany) {
  using namespace pgdr;
  using namespace pgdr::storage::conformance;
  auto& s = this->storage();
  s.remove_many({});
  s.write_all("m/a", as_bytes("a"));
  s.write_all("m/deep/b", as_bytes("b"));
  s.write_all("m/keep", as_bytes("k"));
  s.remove_many({"m/a", "never/existed", "m/deep/b"});  // a missing object is not an error
  EXPECT_EQ(sorted_paths(s.list("m")), std::vector<std::string>{"m/keep"});
  EXPECT_FALSE(s.read("m/a").has_value());
  EXPECT_FALSE(s.stat("m/deep/b").has_value());
  // Every path is checked before anything is removed.
  EXPECT_EQ(error_kind_of([&] { s.remove_many({"m/keep", "../x"}); }), ErrorKind::corrupt);
  EXPECT_EQ(s.read("m/keep"), to_bytes("k"));

  std::size_t n = 50;
  if constexpr (requires { TypeParam::kRemoveManyObjects; }) n = TypeParam::kRemoveManyObjects;
  auto name = [](std::size_t i) {
    std::string digits = std::to_string(i);
    return "many/o" + std::string(5 - digits.size(), '0') + digits;
  };
  constexpr int kThreads = 8;
  run_threads(kThreads, [&](int t) {
    for (std::size_t i = static_cast<std::size_t>(t); i < n; i += kThreads) s.write_all(name(i), as_bytes("x"));
  });
  ASSERT_EQ(s.list("many").size(), n);
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < n; ++i) {
    paths.push_back(name(i));
    if (i % 97 == 0) paths.push_back("many/missing" + std::to_string(i));
  }
  s.remove_many(paths);
  EXPECT_TRUE(s.list("many").empty());
  EXPECT_EQ(sorted_paths(s.list("")), std::vector<std::string>{"m/keep"});
}

TYPED_TEST_P(StorageConformance, RejectsBadObjectPaths) {
  using namespace pgdr;
  using pgdr::storage::conformance::error_kind_of;
  auto& s = this->storage();
  for (std::string bad : {"../x", "/abs", "a//b", "a/./b", "a/../b", "", "a/", ".", ".."}) {
    SCOPED_TRACE("path '" + bad + "'");
    EXPECT_EQ(error_kind_of([&] { s.read(bad); }), ErrorKind::corrupt);
    EXPECT_EQ(error_kind_of([&] { s.read_range(bad, 0, 1); }), ErrorKind::corrupt);
    EXPECT_EQ(error_kind_of([&] { s.create(bad); }), ErrorKind::corrupt);
    EXPECT_EQ(error_kind_of([&] { s.create_exclusive(bad, as_bytes("x")); }), ErrorKind::corrupt);
    EXPECT_EQ(error_kind_of([&] { s.stat(bad); }), ErrorKind::corrupt);
    EXPECT_EQ(error_kind_of([&] { s.remove(bad); }), ErrorKind::corrupt);
    EXPECT_EQ(error_kind_of([&] { s.remove_many({bad}); }), ErrorKind::corrupt);
    if (!bad.empty()) {
      EXPECT_EQ(error_kind_of([&] { s.list(bad); }), ErrorKind::corrupt);
    }
  }
  EXPECT_TRUE(s.list("").empty());
}

TYPED_TEST_P(StorageConformance, ConcurrentWriters) {
  using namespace pgdr;
  using namespace pgdr::storage::conformance;
  auto& s = this->storage();
  constexpr int kThreads = 6;
  constexpr int kObjects = 12;
  auto name = [](int t, int i) {
    // Half share one directory (created by whichever thread gets there first), half get their own.
    return i % 2 == 0 ? "shared/t" + std::to_string(t) + "-" + std::to_string(i)
                      : "own" + std::to_string(t) + "/deep/o" + std::to_string(i);
  };
  run_threads(kThreads, [&](int t) {
    for (int i = 0; i < kObjects; ++i) {
      auto w = s.create(name(t, i));
      const Bytes data = pattern(1000 + i * 97, static_cast<std::uint8_t>(t * 16 + i));
      w->write(ByteView(data).first(500));
      w->write(ByteView(data).subspan(500));
      w->commit();
    }
  });
  EXPECT_EQ(s.list("").size(), static_cast<std::size_t>(kThreads * kObjects));
  EXPECT_EQ(s.list("shared").size(), static_cast<std::size_t>(kThreads * kObjects / 2));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kObjects; ++i) {
      EXPECT_EQ(s.read(name(t, i)), pattern(1000 + i * 97, static_cast<std::uint8_t>(t * 16 + i))) << name(t, i);
    }
  }
}

REGISTER_TYPED_TEST_SUITE_P(StorageConformance, WriteThenRead, EmptyObjectExists, CommitReplacesExistingObject,
                            UncommittedWriterLeavesNothing, MissingObjectsAreAbsent, ReadRange, CreateExclusive,
                            CreateExclusiveHasOneWinner, ListWithPrefixAndNesting, Remove, RemoveMany,
                            RejectsBadObjectPaths, ConcurrentWriters);
