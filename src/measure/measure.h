// pgdr measure: where the cluster stands against its objectives right now, from evidence only.
//   rpo        the archive lag: now minus the newest commit inside the newest archived WAL (its
//              commit records, read by pgdr's WAL reader, pg/wal_reader.h) — what a disaster now
//              would lose at most;
//   rto        the RTO measured by the newest drill, and a forecast for today's database size from
//              the throughputs that drill measured (restore MB/s, WAL replay MB/s) plus its fixed
//              parts (startup, checks, application), so a drift past the objective shows before the
//              next drill does;
//   coverage   hourly snapshot coverage over the last 24 h;
//   growth     stored bytes added per day, logical size now against a day ago;
//   wal_rate   WAL written per hour, between the snapshots of the last 24 h.
// Every figure carries how it was obtained; nothing is a constant.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "config/config.h"
#include "core/bytes.h"
#include "pg/xact_record.h"
#include "repo/repository.h"

namespace pgdr::measure {

// earlier_drills: from the catalog, newest first (may be empty).
nlohmann::json run_measure(const Config& config, const repo::Repository& repo,
                           const std::vector<catalog::RunRecord>& earlier_drills);

// The newest commit (by its time) among the records that start in the WAL segment name; next_name
// and next_bytes, the following segment or empty, only finish a record that crosses into it.
// nullopt when there is none. Throws Error(corrupt) when the WAL reader refuses the segments.
std::optional<pg::XactEnd> newest_commit_in_segment(const std::string& name, ByteView bytes,
                                                    const std::string& next_name, ByteView next_bytes,
                                                    std::uint64_t segment_bytes);

// Forecast of the RTO for a database of logical_bytes with wal_bytes to replay, from a drill
// report's measured parts; nullopt when the drill lacks them. `how` receives the formula used.
std::optional<double> forecast_rto(const nlohmann::json& drill_report, double logical_bytes, double wal_bytes,
                                   std::string* how);

}  // namespace pgdr::measure
