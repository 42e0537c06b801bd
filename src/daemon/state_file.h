// The state file of `pgdr daemon` ([daemon] state_file): the time each job last started, kept so
// that a restarted daemon runs once what it missed while it was down. JSON,
// {"last_started": {JOB: "ISO 8601"}}, written durably (mode 0600) at each start of a job. A file
// that cannot be parsed counts as none. Not thread-safe (the scheduler's thread alone uses it).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/time_format.h"

namespace pgdr::daemon {

class StateFile {
 public:
  explicit StateFile(std::string path);

  std::optional<SystemTime> last_started(const std::string& job) const;
  // Records the start and writes the file; throws Error(io) when it cannot.
  void set_started(const std::string& job, SystemTime t);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, SystemTime> last_started_;
};

}  // namespace pgdr::daemon
