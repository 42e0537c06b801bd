#include "archive/push_ahead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace pgdr::archive {
namespace {

// Waits up to 10 s for pred; false when it never holds.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 10000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return pred();
}

// A queue of segments "a1".."aN" and a push that records what it pushed and how many ran at once.
struct Fake {
  std::vector<std::string> queue;
  std::mutex mutex;
  std::vector<std::string> pushed;  // under mutex
  std::set<std::string> marked;     // under mutex
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<bool> hold{false};  // pushes wait while true

  PushAhead::Work work(std::size_t limit) {
    PushAhead::Work w;
    w.candidates = [this] { return queue; };
    w.done = [this](const std::string& p) {
      std::lock_guard lock(mutex);
      return marked.contains(p);
    };
    w.push = [this](const std::string& p) {
      int now = ++running;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      while (hold.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      {
        std::lock_guard lock(mutex);
        pushed.push_back(p);
        if (p != "bad") marked.insert(p);
      }
      --running;
      if (p == "bad") throw Error(ErrorKind::io, "segment ahead unreadable");
    };
    w.limit = limit;
    return w;
  }
  std::size_t pushed_count() {
    std::lock_guard lock(mutex);
    return pushed.size();
  }
};

TEST(PushAhead, EveryQueuedSegmentIsPushedOnceAndNoMoreThanTheLimitAtOnce) {
  Fake f;
  for (int i = 1; i <= 12; ++i) f.queue.push_back("a" + std::to_string(100 + i));
  PushAhead ahead;
  ahead.start(f.work(3));
  // Each finished push starts the next: all twelve go without another start().
  ASSERT_TRUE(eventually([&] { return f.pushed_count() == 12; }));
  ahead.drain();
  EXPECT_LE(f.most.load(), 3);
  std::vector<std::string> sorted = f.pushed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, f.queue) << "each segment exactly once";
}

TEST(PushAhead, AClaimedSegmentIsLeftToItsCallAndAClaimWaitsForARunningPush) {
  Fake f;
  f.queue = {"a1", "a2", "a3"};
  f.hold = true;
  PushAhead ahead;
  ahead.claim("a2");
  ahead.start(f.work(3));
  ASSERT_TRUE(eventually([&] { return f.running.load() == 2; }));
  std::atomic<bool> claimed{false};
  std::thread call([&] {
    ahead.claim("a3");  // being pushed ahead: waits for it
    claimed = true;
    ahead.release("a3");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(claimed.load());
  f.hold = false;
  call.join();
  EXPECT_TRUE(claimed.load());
  ahead.drain();
  EXPECT_EQ(f.pushed_count(), 2u);
  EXPECT_FALSE(std::find(f.pushed.begin(), f.pushed.end(), "a2") != f.pushed.end());
}

TEST(PushAhead, AFailedOrMarkedSegmentIsNotPushedAgain) {
  Fake f;
  f.queue = {"bad", "a1", "a2"};
  f.marked.insert("a2");  // pushed ahead earlier: its marker is there
  PushAhead ahead;
  ahead.start(f.work(2));
  ASSERT_TRUE(eventually([&] { return f.pushed_count() == 2; }));
  ahead.start(f.work(2));  // the next call: the failed one is left to PostgreSQL's call for it
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ahead.drain();
  EXPECT_EQ(f.pushed_count(), 2u);
}

TEST(PushAhead, DrainWaitsForThePushesAndStartsNoMore) {
  Fake f;
  f.queue = {"a1", "a2", "a3", "a4"};
  f.hold = true;
  PushAhead ahead;
  ahead.start(f.work(1));
  ASSERT_TRUE(eventually([&] { return f.running.load() == 1; }));
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    f.hold = false;
  });
  ahead.drain();
  release.join();
  EXPECT_EQ(f.running.load(), 0);
  EXPECT_EQ(f.pushed_count(), 1u);
}

}  // namespace
}  // namespace pgdr::archive
