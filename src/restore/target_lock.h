// The lock a restore holds on its target directory for its whole run, so that two restores never
// write one directory at once (each would see the other's files as extras, and the survivor would
// be a mix). It is an flock(2) on DIR/pgdr-restore.lock, a small text file that also says who holds
// it and, once the restore begins to write, which snapshot of which system it writes:
//
//   pid=4242
//   snapshot=20261125T234711.508Z-fbcd
//   system_identifier=7311045128290145125
//
// A restore that completes removes the file (after global/pg_control is durable). One that fails
// or is interrupted after it began to write leaves it: the directory is then an unfinished restore
// of that system, which a later --delta of the same system may bring in line although
// global/pg_control is missing. The name is not one PostgreSQL uses, and backups leave it out.
//
// One owner; move-only. flock is per open file: two TargetLocks in one process exclude each other too.
#pragma once

#include <string>
#include <string_view>

#include "core/file.h"

namespace pgdr::restore {

class TargetLock {
 public:
  static constexpr std::string_view kFileName = "pgdr-restore.lock";

  // Locks the existing directory target_dir. Throws Error(locked) "restore target is locked:
  // DIR (another restore writes it, pid N)" when another holds it.
  static TargetLock acquire(const std::string& target_dir);

  TargetLock(TargetLock&&) noexcept = default;
  TargetLock& operator=(TargetLock&&) noexcept = default;
  TargetLock(const TargetLock&) = delete;
  TargetLock& operator=(const TargetLock&) = delete;
  // Unlocks. A lock file this lock created is removed unless mark_writing was called.
  ~TargetLock();

  // The system identifier an earlier restore that did not complete recorded; empty if none.
  const std::string& unfinished_system_identifier() const { return unfinished_system_identifier_; }
  // Records, durably, that the restore now writes snapshot of system_identifier into the target.
  void mark_writing(const std::string& snapshot, const std::string& system_identifier);
  // The restore is complete: removes the lock file durably, then unlocks.
  void finish();

 private:
  TargetLock(File file, std::string dir, bool created) : file_(std::move(file)), dir_(std::move(dir)), created_(created) {}
  void write_content(const std::string& text);

  File file_;
  std::string dir_;
  bool created_ = false;
  bool writing_ = false;
  std::string unfinished_system_identifier_;
  std::string unfinished_snapshot_;
};

}  // namespace pgdr::restore
