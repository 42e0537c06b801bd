#include "pg/timeline_history.h"

#include <cctype>

namespace pgdr::pg {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

TimelineHistory parse_timeline_history(std::string_view text, std::uint32_t timeline) {
  TimelineHistory h;
  auto refuse = [&](std::size_t line_no, const std::string& why) {
    if (h.problem.empty()) h.problem = "line " + std::to_string(line_no) + ": " + why;
  };
  std::size_t line_no = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find('\0') != std::string_view::npos) {
      refuse(line_no, "not text");
      continue;
    }
    std::size_t i = 0;
    while (i < line.size() && (blank(line[i]) || line[i] == '\v' || line[i] == '\f')) ++i;
    if (i == line.size() || line[i] == '#') continue;
    std::size_t digits = i;
    std::uint64_t tli = 0;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])) && tli <= 0xFFFFFFFFu)
      tli = tli * 10 + static_cast<std::uint64_t>(line[i++] - '0');
    if (i == digits || tli > 0xFFFFFFFFu) {
      refuse(line_no, "expected a numeric timeline ID");
      continue;
    }
    std::size_t sep = i;
    while (i < line.size() && blank(line[i])) ++i;
    std::size_t lsn_end = i;
    while (lsn_end < line.size() && !blank(line[lsn_end])) ++lsn_end;
    auto at = parse_lsn(line.substr(i, lsn_end - i));
    if (i == sep || !at) {
      refuse(line_no, "expected a write-ahead log switchpoint location");
      continue;
    }
    const auto parent = static_cast<std::uint32_t>(tli);
    if (!h.switches.empty() && parent <= h.switches.back().parent) refuse(line_no, "timeline IDs must be in increasing sequence");
    if (timeline != 0 && parent >= timeline)
      refuse(line_no, "timeline ID " + std::to_string(parent) + " is not below the file's timeline " +
                          std::to_string(timeline));
    h.switches.push_back({parent, *at});
  }
  if (h.problem.empty() && timeline > 1 && h.switches.empty()) h.problem = "no timeline switch in it";
  return h;
}

}  // namespace pgdr::pg
