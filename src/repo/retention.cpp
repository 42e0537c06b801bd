#include "repo/retention.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "core/config_section.h"
#include "core/duration.h"

namespace pgdr::repo {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::int64_t seconds_of(SystemTime t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::int64_t hour_bucket(SystemTime t) { return floor_div(seconds_of(t), 3600); }
std::int64_t day_bucket(SystemTime t) { return floor_div(seconds_of(t), 86400); }
// 1970-01-01 was a Thursday; ISO weeks start on Monday, three days later.
std::int64_t week_bucket(SystemTime t) { return floor_div(day_bucket(t) + 3, 7); }
std::int64_t month_bucket(SystemTime t) {
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return static_cast<std::int64_t>(static_cast<int>(ymd.year())) * 12 + static_cast<unsigned>(ymd.month()) - 1;
}
std::int64_t year_bucket(SystemTime t) {
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return static_cast<int>(ymd.year());
}

struct Class {
  const char* name;
  int count;
  std::function<std::int64_t(SystemTime)> bucket;
};

}  // namespace

std::vector<RetentionVerdict> apply_retention(const std::vector<RetentionInput>& snapshots,
                                              const RetentionPolicy& policy, SystemTime now) {
  std::vector<RetentionVerdict> out(snapshots.size());
  std::map<std::string, std::vector<std::size_t>> by_cluster;
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    out[i].id = snapshots[i].id;
    by_cluster[snapshots[i].cluster].push_back(i);
  }
  const std::vector<Class> classes = {{"hourly", policy.hourly, hour_bucket},   {"daily", policy.daily, day_bucket},
                                      {"weekly", policy.weekly, week_bucket},   {"monthly", policy.monthly, month_bucket},
                                      {"yearly", policy.yearly, year_bucket}};
  const std::string young = "younger than " + format_duration(policy.min_age);
  for (auto& [cluster, idx] : by_cluster) {
    // Newest first; equal times by id, which sorts by time too.
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      if (snapshots[a].time != snapshots[b].time) return snapshots[a].time > snapshots[b].time;
      return snapshots[a].id > snapshots[b].id;
    });
    auto keep = [&](std::size_t i, std::string reason) {
      out[i].keep = true;
      out[i].reasons.push_back(std::move(reason));
    };
    keep(idx.front(), "newest");
    for (std::size_t i : idx)
      if (now - snapshots[i].time < policy.min_age) keep(i, young);
    for (const auto& c : classes) {
      int kept = 0;
      std::optional<std::int64_t> last;
      for (std::size_t i : idx) {
        if (kept >= c.count) break;
        std::int64_t b = c.bucket(snapshots[i].time);
        if (last && *last == b) continue;  // an older snapshot of a bucket already counted
        last = b;
        ++kept;
        keep(i, std::string(c.name) + " " + std::to_string(kept) + " of " + std::to_string(c.count));
      }
    }
  }
  return out;
}

const ConfigSection<RetentionPolicy>& retention_section() {
  using P = RetentionPolicy;
  constexpr int kMax = 1'000'000;
  const auto not_negative = [](const char* key) {
    return at_least(std::chrono::milliseconds(0), std::string("[retention] ") + key + " must not be negative");
  };
  static const auto section = ConfigSection<P>("retention")
      .integer("hourly", &P::hourly, 0, kMax)
      .integer("daily", &P::daily, 0, kMax)
      .integer("weekly", &P::weekly, 0, kMax)
      .integer("monthly", &P::monthly, 0, kMax)
      .integer("yearly", &P::yearly, 0, kMax)
      .duration("min_age", &P::min_age, not_negative("min_age"))
      .duration("lock_wait", &P::lock_wait, not_negative("lock_wait"))
      .number("repack_threshold", &P::repack_threshold, 0, 100)
      .duration("repack_grace", &P::repack_grace, not_negative("repack_grace"))
      .integer("repack_max_packs", &P::repack_max_packs, 1, kMax);
  return section;
}

}  // namespace pgdr::repo
