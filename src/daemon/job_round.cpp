#include "daemon/job_round.h"

#include <sstream>

namespace pgdr::daemon {

namespace {

// How bad a result is: the round takes its worst task's. An interrupted task outranks the rest,
// since the round then did not finish.
int severity(const std::string& result) {
  if (result == "interrupted") return 5;
  if (result == "error") return 4;
  if (result == "fail") return 3;
  if (result == "warn") return 2;
  return 1;  // "pass", "ok"
}

}  // namespace

JobRound::JobRound(const JobKind& kind, const std::vector<std::string>& repositories)
    : per_repository_(kind.per_repository && !repositories.empty()),
      repositories_(per_repository_ ? repositories : std::vector<std::string>{""}) {}

std::optional<std::string> JobRound::next_task() {
  if (abandoned_ || started_ >= repositories_.size()) return std::nullopt;
  return repositories_[started_++];
}

void JobRound::task_ended(const TaskRun& run) {
  ++ended_;
  if (!worst_ || severity(run.outcome.result) > severity(worst_->outcome.result)) worst_ = run;
}

JobOutcome JobRound::outcome(SystemTime ended, double seconds) const {
  JobOutcome o;
  if (worst_) o = worst_->outcome;
  o.ended = ended;
  o.seconds = seconds;
  if (per_repository_ && worst_ && !o.last_line.empty())
    o.last_line = "repository '" + worst_->repository + "': " + o.last_line;
  return o;
}

std::vector<const char*> job_results(const JobKind& k) {
  if (!k.check) return {"ok", "error", "interrupted"};
  return {"pass", "warn", "fail", "error", "interrupted"};
}

std::string result_of(const JobKind& k, int code, bool stopping) {
  if (stopping && code != 0) return "interrupted";
  if (!k.check) return code == 0 ? "ok" : "error";
  switch (code) {
    case 0:
      return "pass";
    case 1:
      return "warn";
    case 2:
      return "fail";
    default:
      return "error";
  }
}

std::string last_line(const std::string& output) {
  std::string last, last_pgdr;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \r") == std::string::npos) continue;
    last = line;
    if (line.starts_with("pgdr: ") && !line.starts_with("pgdr: warning: ") && !line.starts_with("pgdr: debug: "))
      last_pgdr = line;
  }
  return last_pgdr.empty() ? last : last_pgdr;
}

}  // namespace pgdr::daemon
