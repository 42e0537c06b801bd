// The change map of a timeline path from the server's own WAL summaries (PostgreSQL 17+ with
// summarize_wal = on; see wal_summary_file.h for the files), chosen the way PostgreSQL's
// incremental backup chooses them (PrepareForIncrementalBackup in basebackup_incremental.c).
//
// A map is given only when the summaries cover every LSN of every range of the path: a summary
// lists what changed in its own stretch of WAL and nothing about the next, so a gap, a file
// removed meanwhile (wal_summary_keep_time), a file that fails its checks, summarize_wal off, a
// server before 17 or a summarizer that does not catch up in time each give no map and a one-line
// reason; the caller then takes its map from elsewhere (the WAL itself) or reads every block.
//
// The summarizer ends a file only at a checkpoint's redo point (or a timeline switch), so the
// path's end should be one: a backup's start LSN is. Any other end waits for the next checkpoint.
//
// Uses the connection it is given from one thread; owns nothing beyond the result.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/change_map.h"
#include "pg/connection.h"
#include "pg/timeline_path.h"
#include "pg/wal_summary_file.h"

namespace pgdr::pg {

struct ServerSummariesRequest {
  // From find_timeline_path: the previous snapshot's start to the new snapshot's start.
  std::vector<TimelineRange> path;
  // The server's data directory when it is on this machine: the summaries are listed and read in
  // its pg_wal/summaries. Empty: through the connection, with pg_available_wal_summaries() and
  // pg_read_binary_file() (superuser, or a role granted pg_read_server_files).
  std::string data_directory;
  // How long to wait for the summarizer to reach the path's end.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct ServerSummaries {
  std::optional<ChangeMap> map;
  // Why map is nullopt, one line; empty when there is a map.
  std::string reason;
  // The summary files read (names, oldest first per range) and their size in all.
  std::vector<std::string> files;
  std::uint64_t bytes_read = 0;
};

// Waits for the summarizer, then lists, chooses, reads and merges the summaries. Throws only
// what the connection throws for its own queries (Error(postgres)) and Error(interrupted);
// everything about the summaries themselves is a reason.
ServerSummaries read_server_summaries(Connection& conn, const ServerSummariesRequest& request);

struct SummaryChoice {
  // Oldest first; enough to cover every range, each one extending what the previous ones cover.
  std::vector<WalSummaryName> files;
  // The first LSN no summary covers, as a one-line reason; empty when the path is covered.
  std::string gap;
};

// Which of the available summaries cover path (timeline by timeline, overlap allowed).
SummaryChoice choose_wal_summaries(const std::vector<WalSummaryName>& available, const std::vector<TimelineRange>& path);

}  // namespace pgdr::pg
