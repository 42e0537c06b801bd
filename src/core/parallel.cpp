#include "core/parallel.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/interrupt.h"

namespace pgdr {

std::optional<std::size_t> WorkQueue::next() {
  throw_if_interrupted();
  if (stopped_.load()) return std::nullopt;
  std::size_t i = next_.fetch_add(1);
  if (i >= count_) return std::nullopt;
  return i;
}

void run_parallel(std::size_t count, int threads, const std::function<void(WorkQueue&)>& worker) {
  WorkQueue queue(count);
  std::mutex mu;
  std::exception_ptr first;
  auto fail = [&](std::exception_ptr e) {
    std::lock_guard lock(mu);
    if (!first) first = e;
    queue.stop();
  };
  auto run_one = [&] {
    try {
      worker(queue);
    } catch (...) {
      fail(std::current_exception());
    }
  };
  const std::size_t n = std::clamp<std::size_t>(count, 1, static_cast<std::size_t>(std::max(1, threads)));
  std::vector<std::thread> started;
  started.reserve(n - 1);
  for (std::size_t t = 1; t < n && !queue.stopped(); ++t) {
    try {
      started.emplace_back(run_one);
    } catch (...) {  // no thread to be had: stop, and report it once the others are back
      fail(std::current_exception());
    }
  }
  if (!queue.stopped()) run_one();
  for (auto& t : started) t.join();
  if (first) std::rethrow_exception(first);
}

void parallel_for(std::size_t count, int threads, const std::function<void(std::size_t)>& body) {
  if (count == 0) return;
  run_parallel(count, threads, [&](WorkQueue& queue) {
    while (auto i = queue.next()) body(*i);
  });
}

}  // namespace pgdr
