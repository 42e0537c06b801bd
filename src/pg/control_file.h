// global/pg_control, read the way PostgreSQL checks it: the fields pgdr needs (system identifier,
// format and catalog versions, cluster state) and the CRC-32C that covers the struct up to the CRC
// field, whose offset depends on the pg_control format (PG_CONTROL_VERSION 1300 in 14 to 16, 1700
// in 17, 1800 in 18, which added a field before it). A file whose format pgdr does not know, or
// whose CRC does not match, is refused rather than half-read: its system identifier decides
// whether restore --delta may rewrite a directory.
// Pure functions over bytes; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/bytes.h"

namespace pgdr::pg {

struct ControlFile {
  std::uint64_t system_identifier = 0;
  std::uint32_t pg_control_version = 0;  // 1300, 1700, 1800
  std::uint32_t catalog_version = 0;     // e.g. 202209061 for 15
  std::uint32_t state = 0;               // DBState: 1 shut down, 2 shut down in recovery, 4 in crash recovery, 6 in production...
};

// Throws Error(corrupt) naming `where` when bytes are too short, of an unknown format, or fail the CRC.
ControlFile parse_control_file(ByteView bytes, const std::string& where);

// <data_dir>/global/pg_control; nullopt when the file does not exist. Throws Error(corrupt) as
// parse_control_file, Error(io) when it cannot be read.
std::optional<ControlFile> read_control_file(const std::string& data_dir);

}  // namespace pgdr::pg
