// pgdr measure: where the cluster stands against its objectives right now, from evidence only.
//   rpo        the archive lag: now minus the newest commit inside the newest archived WAL (read
//              from the archived segments with pg_waldump) — what a disaster now would lose at most;
//   rto        the RTO measured by the newest drill, and a forecast for today's database size from
//              the throughputs that drill measured (restore MB/s, WAL replay MB/s) plus its fixed
//              parts (startup, checks, application), so a drift past the objective shows before the
//              next drill does;
//   coverage   hourly snapshot coverage over the last 24 h;
//   growth     stored bytes added per day, logical size now against a day ago;
//   wal_rate   WAL written per hour, between the snapshots of the last 24 h.
// Every figure carries how it was obtained; nothing is a constant.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "catalog/catalog.h"
#include "core/config.h"
#include "repo/repository.h"

namespace pgdr::measure {

// earlier_drills: from the catalog, newest first (may be empty).
nlohmann::json run_measure(const Config& config, const repo::Repository& repo,
                           const std::vector<catalog::RunRecord>& earlier_drills);

// The newest commit time in pg_waldump output ("desc: COMMIT 2026-11-26 02:27:03.123456 UTC"),
// or nullopt.
std::optional<SystemTime> newest_commit_in_waldump(const std::string& output);

// Forecast of the RTO for a database of logical_bytes with wal_bytes to replay, from a drill
// report's measured parts; nullopt when the drill lacks them. `how` receives the formula used.
std::optional<double> forecast_rto(const nlohmann::json& drill_report, double logical_bytes, double wal_bytes,
                                   std::string* how);

}  // namespace pgdr::measure
