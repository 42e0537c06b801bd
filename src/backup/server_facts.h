// What a backup must know about the server before it writes anything: its version, data directory,
// checksums, WAL segment size, system identifier, and whether it can be backed up at all. Reading
// (one query) and judging are apart, so that the judgement is testable without a server.
#pragma once

#include <cstdint>
#include <string>

#include "pg/connection.h"

namespace pgdr::backup {

struct ServerFacts {
  int version_num = 0;
  std::string data_directory;
  bool data_checksums = false;
  std::uint64_t wal_segment_bytes = 0;
  std::string system_identifier;
  bool in_recovery = false;
  std::string wal_level;
};

// One query on conn; throws Error(postgres) when it fails or answers nonsense.
ServerFacts read_server_facts(pg::Connection& conn);

// Throws Error(postgres) naming `where` when the server cannot be backed up: a major outside
// 14-18 (see pg/version.h), or wal_level minimal. A standby can (in_recovery): the non-exclusive
// backup functions work in recovery, and backup.cpp takes its WAL positions from the standby's
// control data instead of the functions that recovery forbids.
void require_backup_possible(const ServerFacts& facts, const std::string& where);

}  // namespace pgdr::backup
