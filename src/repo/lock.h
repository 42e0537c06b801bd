// The repository's writer lock: one object, created exclusively, naming its holder (host, pid and
// the process start time, so a recycled pid is not mistaken for the holder). Taken by every
// command that adds or removes snapshots; a lock whose holder died on this host is broken
// automatically, one held from another host must be removed by hand (the message says how).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace pgdr::repo {

// How long acquire() waits for a live holder before giving up: not at all by default. When
// commands is not empty, only a holder running one of them is waited for (a backup waits for an
// expire, which is bounded, but not for another backup, which is a scheduling mistake to report).
struct LockWait {
  std::chrono::milliseconds timeout{0};
  std::vector<std::string> commands;
};

class RepoLock {
 public:
  // Throws Error(locked) "repository '<name>' is locked by <command> (pid N on host H since T)",
  // after waiting as wait says.
  static RepoLock acquire(storage::Storage& store, const std::string& repo_name, const std::string& command,
                          const LockWait& wait = {});
  RepoLock(RepoLock&& o) noexcept : store_(o.store_), held_(o.held_) { o.held_ = false; }
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;
  RepoLock& operator=(RepoLock&&) = delete;
  ~RepoLock();
  void release();

 private:
  explicit RepoLock(storage::Storage& store) : store_(&store), held_(true) {}
  storage::Storage* store_;
  bool held_;
};

}  // namespace pgdr::repo
