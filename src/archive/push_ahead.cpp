#include "archive/push_ahead.h"

#include <exception>
#include <thread>

#include "core/log.h"

namespace pgdr::archive {

PushAhead::~PushAhead() { drain(); }

void PushAhead::wait_for(const std::string& path) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !running_.contains(path); });
}

void PushAhead::start(const std::vector<std::string>& paths, std::size_t limit,
                      const std::function<bool(const std::string&)>& done,
                      std::function<void(const std::string&)> push) {
  std::lock_guard lock(mutex_);
  for (const auto& path : paths) {
    if (running_.size() >= limit) return;
    if (running_.contains(path) || done(path)) continue;
    running_.insert(path);
    // Detached: the thread touches nothing of this object once it has left mutex_ (as the agent's
    // connection threads), and drain() waits for that.
    std::thread([this, path, push] {
      try {
        push(path);
      } catch (const std::exception& e) {
        log_debug("push-ahead of " + path + " failed: " + e.what());
      }
      std::lock_guard done_lock(mutex_);
      running_.erase(path);
      changed_.notify_all();
    }).detach();
  }
}

void PushAhead::drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return running_.empty(); });
}

}  // namespace pgdr::archive
