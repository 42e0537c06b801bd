#include "pg/version.h"

#include <array>
#include <utility>

#include "core/error.h"

namespace pgdr::pg {

namespace {

// XLOG_PAGE_MAGIC of src/include/access/xlog_internal.h in each major's release branch; read back
// from real segments of every major in tests/unit/pg (wal_reader_test).
constexpr std::array<std::pair<int, std::uint16_t>, 5> kWalPageMagic = {{
    {14, 0xD10D},
    {15, 0xD110},
    {16, 0xD113},
    {17, 0xD116},
    {18, 0xD118},
}};

}  // namespace

std::string version_text(int version_num) {
  return std::to_string(version_num / 10000) + "." + std::to_string(version_num % 10000);
}

std::string supported_range_text() {
  return "PostgreSQL " + std::to_string(kOldestMajor) + " to " + std::to_string(kNewestMajor);
}

void require_supported_version(int version_num, const std::string& where) {
  if (is_supported_major(major_of(version_num))) return;
  throw Error(ErrorKind::postgres, "unsupported PostgreSQL " + version_text(version_num) + " at " + where +
                                       " (pgdr supports " + supported_range_text() + ")");
}

std::optional<std::uint16_t> wal_page_magic(int major) {
  for (const auto& [m, magic] : kWalPageMagic)
    if (m == major) return magic;
  return std::nullopt;
}

std::optional<int> major_of_wal_page_magic(std::uint16_t magic) {
  for (const auto& [m, value] : kWalPageMagic)
    if (value == magic) return m;
  return std::nullopt;
}

BackupFunctions backup_functions(int major) {
  if (!is_supported_major(major))
    throw Error(ErrorKind::internal, "no backup functions for PostgreSQL " + std::to_string(major));
  // wait_for_archive is false in both: pgdr copies the WAL from start to stop itself, and waiting
  // on an archive_command that may not be pgdr's would tie the snapshot to it.
  if (major == 14) return {"SELECT pg_start_backup($1, $2, false)::text",
                           "SELECT lsn::text, labelfile FROM pg_stop_backup(false, false)"};
  return {"SELECT pg_backup_start($1, $2)::text", "SELECT lsn::text, labelfile FROM pg_backup_stop(false)"};
}

std::string tablespace_version_prefix(int major) { return "PG_" + std::to_string(major) + "_"; }

}  // namespace pgdr::pg
