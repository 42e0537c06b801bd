#include "archive/work_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"

namespace pgdr::archive {
namespace {

// Waits up to 10 s for flag to reach want; false when it never does.
bool wait_for(const std::atomic<int>& flag, int want) {
  for (int i = 0; i < 10000 && flag.load() < want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return flag.load() >= want;
}

TEST(WorkAhead, TheFileAskedForAndTheOnesAheadRunAtTheSameTime) {
  std::atomic<int> ahead_started{0};
  std::vector<std::atomic<int>> done(3);
  bool saw_all_ahead = false;
  with_work_ahead(
      done.size(), [&] { saw_all_ahead = wait_for(ahead_started, 3); },
      [&](std::size_t i) {
        ++ahead_started;
        ++done[i];
      });
  EXPECT_TRUE(saw_all_ahead) << "the ahead work waited for the file asked for";
  for (const auto& d : done) EXPECT_EQ(d.load(), 1);
}

TEST(WorkAhead, NothingAheadRunsTheFileAskedForOnly) {
  int now = 0;
  with_work_ahead(0, [&] { ++now; }, [](std::size_t) { ADD_FAILURE() << "no ahead work was asked for"; });
  EXPECT_EQ(now, 1);
}

TEST(WorkAhead, ErrorsAheadAreDroppedAndStopNothing) {
  std::atomic<int> ahead_done{0};
  bool now_ran = false;
  with_work_ahead(
      4, [&] { now_ran = true; },
      [&](std::size_t i) {
        ++ahead_done;
        if (i % 2 == 0) throw Error(ErrorKind::io, "segment ahead unreadable");
      });
  EXPECT_TRUE(now_ran);
  EXPECT_EQ(ahead_done.load(), 4);
}

TEST(WorkAhead, TheErrorOfTheFileAskedForIsRethrownOnceTheAheadWorkIsDone) {
  std::atomic<int> ahead_done{0};
  try {
    with_work_ahead(
        3, [] { throw Error(ErrorKind::not_found, "WAL file to archive not found"); },
        [&](std::size_t) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          ++ahead_done;
        });
    ADD_FAILURE() << "the error of the file asked for was lost";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_STREQ(e.what(), "WAL file to archive not found");
  }
  EXPECT_EQ(ahead_done.load(), 3) << "ahead work was skipped or not joined";
}

}  // namespace
}  // namespace pgdr::archive
