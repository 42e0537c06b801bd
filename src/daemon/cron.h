// When a scheduled job of `pgdr daemon` runs: a parsed [schedule] entry. Times are UTC throughout,
// so there is no daylight-saving gap or repeat to reason about.
//   "M H DOM MON DOW"        standard 5-field cron (minute hour day-of-month month day-of-week)
//   "S M H DOM MON DOW"      the same with a seconds field first
//   "@hourly" "@daily" "@weekly" "@monthly" "@yearly"
//   "@every 5s"              a fixed interval (a duration as in the configuration)
//   "after backup"           (expire only) after each successful backup
// Fields take "*", numbers, ranges "a-b", lists "a,b", steps "*/n" and "a-b/n"; day-of-week 0-7
// (0 and 7 are Sunday); names (jan, mon) are not accepted. As in cron, when both day-of-month and
// day-of-week are restricted a day matching either fires. Immutable; safe to share between threads.
#pragma once

#include <bitset>
#include <chrono>
#include <string>

#include "core/time_format.h"

namespace pgdr::daemon {

class Schedule {
 public:
  // Throws Error(config) "invalid schedule '<text>' (<why>)".
  static Schedule parse(const std::string& text);

  const std::string& text() const { return text_; }
  bool after_backup() const { return after_backup_; }
  // The interval of an "@every" schedule, zero otherwise.
  std::chrono::milliseconds every() const { return every_; }

  // The first firing time strictly after t. For "@every" that is t + interval (the daemon passes the
  // time of the previous run). Not meaningful for "after backup" (returns SystemTime::max()).
  SystemTime next_after(SystemTime t) const;

  // The usual distance between two firings around t: the gap between the next two firings after t.
  std::chrono::seconds period_near(SystemTime t) const;

 private:
  std::string text_;
  bool after_backup_ = false;
  std::chrono::milliseconds every_{0};
  bool has_seconds_ = false;
  std::bitset<60> second_, minute_;
  std::bitset<24> hour_;
  std::bitset<32> dom_;    // 1-31
  std::bitset<13> month_;  // 1-12
  std::bitset<7> dow_;     // 0-6, Sunday 0
  bool dom_star_ = true, dow_star_ = true;
};

}  // namespace pgdr::daemon
