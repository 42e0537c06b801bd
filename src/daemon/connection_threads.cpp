#include "daemon/connection_threads.h"

namespace pgdr::daemon {

namespace {
thread_local bool tl_refusing = false;
}  // namespace

ConnectionThreads::ConnectionThreads(int max_connections, std::function<void()> close_all)
    : max_connections_(max_connections), close_all_(std::move(close_all)) {}

ConnectionThreads::~ConnectionThreads() { shutdown(); }

bool ConnectionThreads::refusing() { return tl_refusing; }

void ConnectionThreads::join_finished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ConnectionThreads::enqueue(std::function<void()> fn) {
  join_finished();
  {
    std::lock_guard lock(mu_);
    if (active_ < max_connections_) {
      ++active_;
      Worker& w = workers_.emplace_back();
      try {
        w.thread = std::thread([this, &w, fn] {  // a copy: fn is still needed if no thread starts
          fn();
          std::lock_guard l(mu_);
          --active_;
          w.done = true;
        });
        return;
      } catch (const std::system_error&) {
        // No thread to be had (a resource limit): refused like a connection past the cap.
        --active_;
        workers_.pop_back();
      }
    }
  }
  // Refused on this thread: the server's refusal writes without waiting and closes.
  tl_refusing = true;
  fn();
  tl_refusing = false;
}

void ConnectionThreads::shutdown() {
  if (close_all_) close_all_();
  for (auto& w : workers_) w.thread.join();
  workers_.clear();
}

}  // namespace pgdr::daemon
