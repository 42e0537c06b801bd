// The archive agent's push-ahead: while it answers PostgreSQL for one segment, the segments
// queued after it (archive_status/*.ready) are pushed on threads of their own that outlive the
// call, and each thread that finishes starts the next queued segment, so that the work goes on
// while PostgreSQL starts its next archive_command and while the calls answered by markers
// (archive/archive_push.h) run. Without it each call waits for its whole batch, and the cores idle
// between batches.
//
// PushAhead owns only the bookkeeping: which segments are being pushed ahead, which ones a call
// is pushing itself (never pushed ahead at the same time), and the threads. The work is the
// caller's (Work), which must stay callable until drain() returns. Every method may be called
// from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace pgdr::archive {

class PushAhead {
 public:
  struct Work {
    // The segments that may be pushed ahead, in the order to push them (read again whenever a
    // push ends).
    std::function<std::vector<std::string>()> candidates;
    // Whether a segment needs no push (its marker is there). Asked under the lock that a finished
    // push leaves only after push() returned: a marker written by push() is seen.
    std::function<bool(const std::string&)> done;
    // Pushes one segment and leaves its marker. An exception is dropped: PostgreSQL asks for that
    // segment later and meets the error then.
    std::function<void(const std::string&)> push;
    std::size_t limit = 1;  // pushes at once
  };

  PushAhead() = default;
  PushAhead(const PushAhead&) = delete;
  PushAhead& operator=(const PushAhead&) = delete;
  ~PushAhead();  // drain()

  // A call pushes path itself: waits until path is not being pushed ahead, and keeps it from being
  // pushed ahead until release(path). PostgreSQL archives in order: what was pushed ahead before
  // path is forgotten.
  void claim(const std::string& path);
  void release(const std::string& path);
  // Makes work the current work and starts pushes of its candidates up to its limit.
  void start(Work work);
  // Stops starting pushes and returns once none runs.
  void drain();

 private:
  void fill(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable changed_;
  // Shared by the threads of this object: each reads the newest work when it refills.
  std::shared_ptr<const Work> work_;  // under mutex_
  std::set<std::string> running_;     // under mutex_
  std::set<std::string> claimed_;     // under mutex_
  // Pushed ahead already, whether it worked or not: never again (once its marker is consumed its
  // .ready file may still be listed for a moment; a failed one is left to PostgreSQL's call, which
  // reports the error, instead of being retried in a loop).
  std::set<std::string> attempted_;   // under mutex_
  int threads_ = 0;                   // threads that may still touch this object, under mutex_
  bool draining_ = false;             // under mutex_
};

}  // namespace pgdr::archive
