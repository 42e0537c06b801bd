// Spreading work over threads, in one shape for every parallel step (backup's file readers,
// restore's slice writers, verify's object readers, archive-push's and archive-get's segment
// transfers): each stops at the first error, joins every thread it started and rethrows that
// error on the caller's thread, so a failure never leaves a thread running or an error unsaid.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>

namespace pgdr {

// The item indexes [0, count) that one parallel run hands out, each once.
class WorkQueue {
 public:
  explicit WorkQueue(std::size_t count) : count_(count) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // The next index; nothing once every index is handed out or another worker failed. Throws
  // Error(interrupted) once SIGINT or SIGTERM arrived, so long runs stop between items.
  std::optional<std::size_t> next();
  // True once a worker failed: the others finish the item in hand and return.
  bool stopped() const { return stopped_.load(); }
  void stop() { stopped_ = true; }
  std::size_t size() const { return count_; }

 private:
  const std::size_t count_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stopped_{false};
};

// Runs worker(queue) on min(threads, count) threads (at least one; the caller's thread is one of
// them, so threads = 1 runs inline). Each worker takes indexes with queue.next() until it gives
// nothing; a worker that keeps per-thread state (codecs, open packs) builds it before its loop and
// finishes it after. The first exception a worker throws (or a thread that cannot start) stops
// the queue; once every worker has returned it is rethrown here.
void run_parallel(std::size_t count, int threads, const std::function<void(WorkQueue&)>& worker);

// body(i) for every i in [0, count) on up to `threads` threads, with run_parallel's error rule.
void parallel_for(std::size_t count, int threads, const std::function<void(std::size_t)>& body);

}  // namespace pgdr
