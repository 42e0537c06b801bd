// The archive agent's push-ahead: while it answers PostgreSQL for one segment, the segments
// queued after it (archive_status/*.ready) are pushed on threads of their own that outlive the
// call, so that the work goes on while PostgreSQL starts its next archive_command, which then
// finds the segment's marker (archive/archive_push.h). Without it each call waits for its whole
// batch, and the cores idle between batches.
//
// PushAhead owns only the bookkeeping: which paths are being pushed, and their threads. The push
// itself is the caller's function, which must stay callable until drain() returns. Every method may
// be called from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace pgdr::archive {

class PushAhead {
 public:
  PushAhead() = default;
  PushAhead(const PushAhead&) = delete;
  PushAhead& operator=(const PushAhead&) = delete;
  ~PushAhead();  // drain()

  // Returns once path is not being pushed ahead (at once when it is not).
  void wait_for(const std::string& path);
  // Starts push(path) on a thread of its own for each of paths in turn that is not being pushed
  // and for which done(path) is false, while fewer than limit pushes run. done is asked under the
  // lock that a finished push leaves only after its push() returned: a marker written by push()
  // is seen. An exception push() throws is dropped: PostgreSQL asks for that file later and
  // meets the error then.
  void start(const std::vector<std::string>& paths, std::size_t limit,
             const std::function<bool(const std::string&)>& done, std::function<void(const std::string&)> push);
  // Returns once no push runs.
  void drain();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> running_;  // under mutex_
};

}  // namespace pgdr::archive
