#include "archive/push_ahead.h"

#include <exception>
#include <thread>

#include "core/log.h"

namespace pgdr::archive {

PushAhead::~PushAhead() { drain(); }

void PushAhead::claim(const std::string& path) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !running_.contains(path); });
  claimed_.insert(path);
  attempted_.erase(attempted_.begin(), attempted_.lower_bound(path));
}

void PushAhead::release(const std::string& path) {
  std::lock_guard lock(mutex_);
  claimed_.erase(path);
}

void PushAhead::start(Work work) {
  std::unique_lock lock(mutex_);
  work_ = std::make_shared<const Work>(std::move(work));
  fill(lock);
}

void PushAhead::fill(std::unique_lock<std::mutex>& lock) {
  if (draining_ || !work_ || running_.size() >= work_->limit) return;
  const std::shared_ptr<const Work> work = work_;
  // Listing the queue reads a directory: done outside the lock, then checked again under it.
  lock.unlock();
  std::vector<std::string> paths;
  try {
    paths = work->candidates();
  } catch (const std::exception& e) {
    log_debug(std::string("push-ahead: unable to list the queued segments: ") + e.what());
  }
  lock.lock();
  for (const auto& path : paths) {
    if (draining_ || running_.size() >= work->limit) return;
    if (running_.contains(path) || claimed_.contains(path) || attempted_.contains(path) || work->done(path)) continue;
    running_.insert(path);
    attempted_.insert(path);
    ++threads_;
    // Detached: the thread touches nothing of this object once it has left mutex_ for the last
    // time (as the agent's connection threads), and drain() waits for that (threads_).
    std::thread([this, path, work] {
      try {
        work->push(path);
      } catch (const std::exception& e) {
        log_debug("push-ahead of " + path + " failed: " + e.what());
      }
      std::unique_lock done_lock(mutex_);
      running_.erase(path);
      changed_.notify_all();
      fill(done_lock);
      --threads_;
      changed_.notify_all();
    }).detach();
  }
}

void PushAhead::drain() {
  std::unique_lock lock(mutex_);
  draining_ = true;
  changed_.wait(lock, [&] { return threads_ == 0; });
}

}  // namespace pgdr::archive
