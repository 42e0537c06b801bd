#include "backup/server_facts.h"

#include "core/error.h"
#include "pg/version.h"

namespace pgdr::backup {

ServerFacts read_server_facts(pg::Connection& conn) {
  auto r = conn.query(
      "SELECT current_setting('server_version_num'), current_setting('data_directory'), "
      "current_setting('data_checksums'), (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), "
      "(SELECT system_identifier FROM pg_control_system())::text, pg_is_in_recovery()::text, "
      "current_setting('wal_level')");
  const auto& row = r.rows.at(0);
  for (const auto& field : row)
    if (!field) throw Error(ErrorKind::postgres, "the server at " + conn.describe() + " answered NULL for a setting");
  ServerFacts f;
  try {
    f.version_num = std::stoi(*row[0]);
    f.wal_segment_bytes = std::stoull(*row[3]);
  } catch (const std::exception&) {
    throw Error(ErrorKind::postgres, "unreadable server_version_num or wal_segment_size from " + conn.describe());
  }
  f.data_directory = *row[1];
  f.data_checksums = *row[2] == "on";
  f.system_identifier = *row[4];
  f.in_recovery = *row[5] == "true";
  f.wal_level = *row[6];
  return f;
}

void require_backup_possible(const ServerFacts& facts, const std::string& where) {
  pg::require_supported_version(facts.version_num, where);
  if (facts.wal_level == "minimal")
    throw Error(ErrorKind::postgres, "wal_level is minimal at " + where + " (online backups need replica or logical)");
}

}  // namespace pgdr::backup
