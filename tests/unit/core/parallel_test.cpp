#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace pgdr {
namespace {

TEST(ParallelTest, EveryIndexRunsExactlyOnce) {
  std::vector<std::atomic<int>> hits(1000);
  parallel_for(hits.size(), 4, [&](std::size_t i) { hits[i].fetch_add(1); });
  for (std::size_t i = 0; i < hits.size(); ++i) EXPECT_EQ(hits[i].load(), 1) << i;
}

TEST(ParallelTest, UsesAtMostTheThreadsAskedAndNoMoreThanItems) {
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::atomic<int> inside{0}, most{0};
  parallel_for(64, 3, [&](std::size_t) {
    int now = ++inside;
    for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --inside;
    std::lock_guard lock(mu);
    seen.insert(std::this_thread::get_id());
  });
  EXPECT_LE(most.load(), 3);
  EXPECT_LE(seen.size(), 3u);
  seen.clear();
  parallel_for(1, 8, [&](std::size_t) { seen.insert(std::this_thread::get_id()); });
  EXPECT_EQ(seen, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ParallelTest, TheFirstErrorStopsTheOthersAndIsRethrown) {
  std::atomic<int> done{0};
  try {
    parallel_for(10000, 4, [&](std::size_t i) {
      if (i == 10) throw std::runtime_error("item 10 failed");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      ++done;
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "item 10 failed");
  }
  EXPECT_LT(done.load(), 1000);  // the others stopped instead of draining the queue
}

TEST(ParallelTest, PerWorkerStateIsBuiltOnceAndFinished) {
  std::atomic<int> built{0}, finished{0};
  std::atomic<std::size_t> items{0};
  run_parallel(100, 4, [&](WorkQueue& q) {
    ++built;
    std::size_t mine = 0;
    while (auto i = q.next()) ++mine;
    items += mine;
    ++finished;
  });
  EXPECT_EQ(items.load(), 100u);
  EXPECT_EQ(built.load(), finished.load());
  EXPECT_LE(built.load(), 4);
}

TEST(ParallelTest, NothingToDoRunsNothing) {
  int calls = 0;
  parallel_for(0, 4, [&](std::size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace pgdr
