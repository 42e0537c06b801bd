#include "pg/control_file.h"

#include <fcntl.h>

#include "core/error.h"
#include "core/file.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"

namespace pgdr::pg {

namespace {

// Offsets of ControlFileData (src/include/catalog/pg_control.h), the same in every supported format
// up to state; the CRC follows the last field, which 18 moved by adding one (found on real control
// files of each major, tests/unit/pg/data/control).
constexpr std::size_t kSystemIdentifier = 0;
constexpr std::size_t kControlVersion = 8;
constexpr std::size_t kCatalogVersion = 12;
constexpr std::size_t kState = 16;

std::optional<std::size_t> crc_offset(std::uint32_t pg_control_version) {
  switch (pg_control_version) {
    case 1300:  // 13 to 16
    case 1700:
      return 288;
    case 1800:
      return 292;
    default:
      return std::nullopt;
  }
}

// PG_CONTROL_FILE_SIZE: what PostgreSQL writes, padded with zeros.
constexpr std::size_t kControlFileBytes = 8192;

}  // namespace

ControlFile parse_control_file(ByteView bytes, const std::string& where) {
  if (bytes.size() < kState + 4)
    throw Error(ErrorKind::corrupt, "unreadable pg_control: " + where + " (" + std::to_string(bytes.size()) +
                                        " bytes, too short for its header)");
  ControlFile c;
  c.system_identifier = get_u64le(bytes.data() + kSystemIdentifier);
  c.pg_control_version = get_u32le(bytes.data() + kControlVersion);
  c.catalog_version = get_u32le(bytes.data() + kCatalogVersion);
  c.state = get_u32le(bytes.data() + kState);
  const auto at = crc_offset(c.pg_control_version);
  if (!at)
    throw Error(ErrorKind::corrupt, "unreadable pg_control: " + where + " (format " +
                                        std::to_string(c.pg_control_version) +
                                        " is not one of PostgreSQL 14 to 18: 1300, 1700 or 1800)");
  if (bytes.size() < *at + 4)
    throw Error(ErrorKind::corrupt, "unreadable pg_control: " + where + " (" + std::to_string(bytes.size()) +
                                        " bytes, too short for format " + std::to_string(c.pg_control_version) + ")");
  const std::uint32_t stored = get_u32le(bytes.data() + *at);
  if (crc32c(bytes.subspan(0, *at)) != stored)
    throw Error(ErrorKind::corrupt, "damaged pg_control: " + where + " (CRC mismatch)");
  return c;
}

std::optional<ControlFile> read_control_file(const std::string& data_dir) {
  const std::string path = data_dir + "/global/pg_control";
  auto file = File::open_if_exists(path, O_RDONLY);
  if (!file) return std::nullopt;
  Bytes buf(kControlFileBytes);
  std::size_t got = 0;
  while (got < buf.size()) {
    const std::size_t n = file->read_at(buf.data() + got, buf.size() - got, got);
    if (n == 0) break;
    got += n;
  }
  buf.resize(got);
  return parse_control_file(buf, path);
}

}  // namespace pgdr::pg
