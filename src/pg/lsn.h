// Log sequence numbers and WAL segment file names, in PostgreSQL's own notation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgdr::pg {

inline constexpr std::uint64_t kDefaultWalSegmentBytes = 16u * 1024 * 1024;

struct Lsn {
  std::uint64_t value = 0;
  auto operator<=>(const Lsn&) const = default;
};

// "16/B374D848" -> Lsn; nullopt when the text is not an LSN.
std::optional<Lsn> parse_lsn(std::string_view text);
// Upper-case hex halves, as PostgreSQL prints them: "16/B374D848".
std::string to_string(Lsn lsn);

// Segment number holding the byte at lsn.
std::uint64_t segment_number(Lsn lsn, std::uint64_t segment_bytes);
// "000000010000000200000003": timeline, then the segment number split as PostgreSQL does.
std::string segment_file_name(std::uint32_t timeline, std::uint64_t segno, std::uint64_t segment_bytes);

struct SegmentName {
  std::uint32_t timeline = 0;
  std::uint64_t segno = 0;
};
// Parses a 24-hex-digit segment name; nullopt for anything else (history, partial, backup files).
std::optional<SegmentName> parse_segment_file_name(std::string_view name, std::uint64_t segment_bytes);

}  // namespace pgdr::pg
