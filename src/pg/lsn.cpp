#include "pg/lsn.h"

#include <cstdio>
#include <string>

#include "core/bytes.h"
#include "core/error.h"

namespace pgdr::pg {
namespace {

// One half of an LSN: 1 to 8 hex digits, as pg_lsn_in accepts them.
std::optional<std::uint32_t> parse_half(std::string_view text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : text) {
    int d = hex_digit_value(c);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  return v;
}

// Segment file names are only defined for power-of-two sizes from 1 MiB to 1 GiB (initdb's
// --wal-segsize range); anything else is a caller bug, not bad data.
std::uint64_t segments_per_xlogid(std::uint64_t segment_bytes) {
  const bool power_of_two = segment_bytes != 0 && (segment_bytes & (segment_bytes - 1)) == 0;
  if (!power_of_two || segment_bytes < (1u << 20) || segment_bytes > (1u << 30)) {
    throw Error(ErrorKind::internal,
                "invalid WAL segment size: " + std::to_string(segment_bytes) + " bytes");
  }
  return (std::uint64_t{1} << 32) / segment_bytes;
}

}  // namespace

std::optional<Lsn> parse_lsn(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto hi = parse_half(text.substr(0, slash));
  const auto lo = parse_half(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return Lsn{(std::uint64_t{*hi} << 32) | *lo};
}

std::string to_string(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn.value >> 32),
                static_cast<unsigned>(lsn.value & 0xFFFFFFFFu));
  return buf;
}

std::uint64_t segment_number(Lsn lsn, std::uint64_t segment_bytes) {
  segments_per_xlogid(segment_bytes);  // validates the size
  return lsn.value / segment_bytes;
}

std::string segment_file_name(std::uint32_t timeline, std::uint64_t segno, std::uint64_t segment_bytes) {
  const std::uint64_t per_id = segments_per_xlogid(segment_bytes);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", static_cast<unsigned>(timeline),
                static_cast<unsigned>(segno / per_id), static_cast<unsigned>(segno % per_id));
  return buf;
}

std::optional<SegmentName> parse_segment_file_name(std::string_view name, std::uint64_t segment_bytes) {
  const std::uint64_t per_id = segments_per_xlogid(segment_bytes);
  if (name.size() != 24) return std::nullopt;
  // PostgreSQL writes and recognises upper-case names only (IsXLogFileName in xlog_internal.h).
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return std::nullopt;
  }
  const auto tli = parse_half(name.substr(0, 8));
  const auto log = parse_half(name.substr(8, 8));
  const auto seg = parse_half(name.substr(16, 8));
  // Timeline 0 never exists, and a low part beyond the segments of one xlogid cannot be produced.
  if (!tli || !log || !seg || *tli == 0 || *seg >= per_id) return std::nullopt;
  return SegmentName{*tli, std::uint64_t{*log} * per_id + *seg};
}

}  // namespace pgdr::pg
