#include <algorithm>
#include <chrono>
#include <cstdio>
#include <tuple>

#include "core/duration.h"
#include "core/progress.h"
#include "verify/checks.h"
#include "verify/stats.h"

namespace pgdr::verify {

namespace {

std::vector<const repo::SnapshotInfo*> sorted_by_start(const std::vector<repo::SnapshotInfo>& snaps) {
  std::vector<const repo::SnapshotInfo*> out;
  for (const auto& s : snaps) out.push_back(&s);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->id < b->id; });
  return out;
}

std::string percent_text(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", p);
  return buf;
}

}  // namespace

CheckResult check_coverage(const std::vector<repo::SnapshotInfo>& snaps, const VerifyConfig& cfg, SystemTime now,
                           std::optional<SystemTime> repo_created) {
  CheckResult r;
  r.name = "coverage";
  std::vector<SystemTime> starts;
  for (const auto& s : snaps)
    if (auto t = parse_iso8601(s.start_time)) starts.push_back(*t);
  Coverage c = compute_coverage(starts, now, cfg.snapshot_interval, cfg.window, repo_created);
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& s : c.slots)
    if (!s.covered) missing.push_back({{"start", iso8601(s.start)}, {"end", iso8601(s.end)}});
  r.details = {{"snapshot_interval", format_duration(cfg.snapshot_interval)},
               {"window", format_duration(cfg.window)},
               {"expected_slots", c.slots.size()},
               {"covered_slots", c.covered},
               {"coverage_percent", c.percent},
               {"coverage_warn", cfg.coverage_warn},
               {"coverage_fail", cfg.coverage_fail},
               {"snapshots", snaps.size()},
               {"missing_slots", missing}};
  std::string cov = percent_text(c.percent) + " (" + std::to_string(c.covered) + " of " +
                    std::to_string(c.slots.size()) + " slots of " + format_duration(cfg.snapshot_interval) +
                    " in the last " + format_duration(cfg.window) + ")";
  if (snaps.empty()) {
    r.status = CheckStatus::fail;
    r.summary = "no snapshot of this cluster ([cluster] name) in the repository";
    r.findings.push_back({"alert", "missing snapshot: the repository holds no snapshot of this cluster"});
    return r;
  }
  for (const auto& s : c.slots)
    if (!s.covered)
      r.findings.push_back({"alert", "missing snapshot: none started between " + iso8601(s.start) + " and " + iso8601(s.end)});
  if (c.percent < cfg.coverage_fail) {
    r.status = CheckStatus::fail;
    r.findings.push_back({"warning", "coverage " + cov + " is below coverage_fail " + percent_text(cfg.coverage_fail)});
  } else if (c.percent < cfg.coverage_warn) {
    r.status = CheckStatus::warn;
    r.findings.push_back({"warning", "coverage " + cov + " is below coverage_warn " + percent_text(cfg.coverage_warn)});
  }
  r.summary = "coverage " + cov;
  if (!missing.empty()) r.summary += ", " + std::to_string(missing.size()) + " missing";
  return r;
}

CheckResult check_sizes(const std::vector<repo::SnapshotInfo>& snaps, const VerifyConfig& cfg, SystemTime now) {
  constexpr std::size_t kMinBaseline = 3;
  CheckResult r;
  r.name = "size_anomalies";
  auto sorted = sorted_by_start(snaps);
  nlohmann::json judged = nlohmann::json::array();
  std::size_t checked = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const auto& s = *sorted[i];
    auto start = parse_iso8601(s.start_time);
    if (!start || *start < now - cfg.window) continue;
    std::vector<double> logical, stored;
    for (std::size_t j = i; j-- > 0 && logical.size() < static_cast<std::size_t>(cfg.anomaly_history);) {
      if (sorted[j]->system_identifier != s.system_identifier) continue;
      logical.push_back(static_cast<double>(sorted[j]->logical_bytes));
      stored.push_back(static_cast<double>(sorted[j]->stored_bytes));
    }
    if (logical.size() < kMinBaseline) continue;
    ++checked;
    for (auto [what, value, base] : {std::tuple{"logical size", s.logical_bytes, &logical},
                                     std::tuple{"stored size", s.stored_bytes, &stored}}) {
      SizeVerdict v = judge_size(static_cast<double>(value), *base, cfg.anomaly_threshold);
      if (!v.anomaly) continue;
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.1fx", v.median > 0 ? static_cast<double>(value) / v.median : 0.0);
      char z[64];
      std::snprintf(z, sizeof z, "%.1f, threshold %g", v.z, cfg.anomaly_threshold);
      std::string msg = "size anomaly: snapshot " + s.id + " " + what + " " + human_bytes(value) + " is " + ratio +
                        " the median " + human_bytes(static_cast<std::uint64_t>(v.median)) + " of its " +
                        std::to_string(base->size()) + " predecessors (MAD " +
                        human_bytes(static_cast<std::uint64_t>(v.mad)) + ", z " + z + "): sudden " +
                        (v.z > 0 ? "growth" : "shrinkage");
      r.findings.push_back({"investigate", msg});
      judged.push_back({{"snapshot", s.id},
                        {"measure", what == std::string("logical size") ? "logical_bytes" : "stored_bytes"},
                        {"bytes", value},
                        {"baseline_median_bytes", v.median},
                        {"baseline_mad_bytes", v.mad},
                        {"baseline_count", base->size()},
                        {"z", v.z},
                        {"direction", v.z > 0 ? "growth" : "shrinkage"}});
    }
  }
  r.details = {{"threshold", cfg.anomaly_threshold},
               {"history", cfg.anomaly_history},
               {"snapshots_checked", checked},
               {"anomalies", judged}};
  r.status = judged.empty() ? CheckStatus::pass : CheckStatus::warn;
  r.summary = std::to_string(checked) + " snapshot" + (checked == 1 ? "" : "s") + " of the last " +
              format_duration(cfg.window) + " against their predecessors, " + std::to_string(judged.size()) +
              " anomal" + (judged.size() == 1 ? "y" : "ies");
  return r;
}

}  // namespace pgdr::verify
