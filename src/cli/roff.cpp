#include "cli/roff.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace pgdr::cli {

namespace {

// The code point of the UTF-8 sequence starting at text[i] and its length; a byte that starts no
// valid sequence is taken as itself (latin-1), length 1.
std::pair<std::uint32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = byte(i);
  std::size_t length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
  if (length == 1 || i + length > text.size()) return {b, 1};
  std::uint32_t cp = b & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {b, 1};
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  return {cp, length};
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return std::string(s.substr(first, last - first + 1));
}

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// "1. " or "12. " at the start: the length of the marker, else 0.
std::size_t numbered_marker(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  return i > 0 && line.substr(i, 2) == ". " ? i + 2 : 0;
}

bool starts_block(std::string_view line) {
  return line.starts_with("#") || line.starts_with("```") || line.starts_with("|") || line.starts_with("- ") ||
         numbered_marker(line) > 0;
}

// The cells of a table row "| a | b |", a '|' inside `code` belonging to the cell.
std::vector<std::string> table_cells(std::string_view row) {
  std::vector<std::string> cells;
  std::string cell;
  bool in_code = false;
  for (std::size_t i = 1; i < row.size(); ++i) {
    const char c = row[i];
    if (c == '`') in_code = !in_code;
    if (c == '|' && !in_code) {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += c;
    }
  }
  if (!trim(cell).empty()) cells.push_back(trim(cell));
  return cells;
}

std::string heading(std::string_view text) {
  std::string out(text);
  if (!out.starts_with("["))
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "\"" + markdown_inline_to_roff(out) + "\"";
}

}  // namespace

std::string roff_escape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      auto [cp, length] = decode_utf8(text, i);
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\[u%04X]", static_cast<unsigned>(cp));
      out += buf;
      i += length;
      continue;
    } else {
      out += c;
    }
    ++i;
  }
  return out;
}

std::string roff_line(std::string_view text) {
  std::string out = roff_escape(text);
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string markdown_inline_to_roff(std::string_view md) {
  std::string out;
  std::size_t i = 0;
  while (i < md.size()) {
    if (md[i] == '`') {
      std::size_t end = md.find('`', i + 1);
      if (end != std::string_view::npos) {
        out += "\\fB" + roff_escape(md.substr(i + 1, end - i - 1)) + "\\fR";
        i = end + 1;
        continue;
      }
    }
    if (md.substr(i, 2) == "**") {
      std::size_t end = md.find("**", i + 2);
      if (end != std::string_view::npos) {
        out += "\\fB" + markdown_inline_to_roff(md.substr(i + 2, end - i - 2)) + "\\fR";
        i = end + 2;
        continue;
      }
    }
    if (md[i] == '[') {
      std::size_t close = md.find("](", i);
      std::size_t end = close == std::string_view::npos ? close : md.find(')', close);
      if (end != std::string_view::npos) {
        out += markdown_inline_to_roff(md.substr(i + 1, close - i - 1));
        i = end + 1;
        continue;
      }
    }
    // One whole character: a multi-byte one must reach roff_escape in one piece.
    std::size_t length = static_cast<unsigned char>(md[i]) >= 0x80 ? decode_utf8(md, i).second : 1;
    out += roff_escape(md.substr(i, length));
    i += length;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string markdown_to_man_body(std::string_view markdown) {
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < markdown.size();) {
    std::size_t end = markdown.find('\n', pos);
    if (end == std::string_view::npos) end = markdown.size();
    lines.push_back(markdown.substr(pos, end - pos));
    pos = end + 1;
  }
  std::string out;
  std::size_t i = 0;
  while (i < lines.size()) {
    const std::string_view line = lines[i];
    if (is_blank(line)) {
      ++i;
    } else if (line.starts_with("# ")) {
      ++i;
    } else if (line.starts_with("### ")) {
      out += ".SS " + heading(line.substr(4)) + "\n";
      ++i;
    } else if (line.starts_with("## ")) {
      out += ".SH " + heading(line.substr(3)) + "\n";
      ++i;
    } else if (line.starts_with("```")) {
      out += ".PP\n.RS 4\n.nf\n";
      for (++i; i < lines.size() && !lines[i].starts_with("```"); ++i)
        out += lines[i].empty() ? std::string("\\&") + "\n" : roff_line(lines[i]) + "\n";
      out += ".fi\n.RE\n";
      ++i;  // the closing fence
    } else if (line.starts_with("|")) {
      const std::vector<std::string> header = table_cells(line);
      const bool meaning_last = !header.empty() && header.back() == "meaning";
      for (i += 2; i < lines.size() && lines[i].starts_with("|"); ++i) {  // past the header and its rule
        const std::vector<std::string> cells = table_cells(lines[i]);
        if (cells.empty()) continue;
        out += ".TP\n" + markdown_inline_to_roff(cells[0]) + "\n";
        std::string attributes;
        const std::size_t last = meaning_last ? cells.size() - 1 : cells.size();
        for (std::size_t c = 1; c < last; ++c) {
          if (!attributes.empty()) attributes += "; ";
          attributes += (c < header.size() ? header[c] + ": " : std::string()) + cells[c];
        }
        if (!attributes.empty()) out += markdown_inline_to_roff(attributes) + "\n";
        if (meaning_last && cells.size() > 1) {
          if (!attributes.empty()) out += ".br\n";
          out += markdown_inline_to_roff(cells.back()) + "\n";
        }
      }
    } else if (line.starts_with("- ") || numbered_marker(line) > 0) {
      const std::size_t marker = line.starts_with("- ") ? 2 : numbered_marker(line);
      std::string item(line.substr(marker));
      // Continuation lines are indented under the item's text.
      for (++i; i < lines.size() && !is_blank(lines[i]) && lines[i].starts_with(" "); ++i) item += " " + trim(lines[i]);
      out += marker == 2 ? std::string(".IP \\(bu 2\n") : ".IP " + std::string(line.substr(0, marker - 1)) + " 4\n";
      out += markdown_inline_to_roff(item) + "\n";
    } else {
      std::string para(trim(line));
      for (++i; i < lines.size() && !is_blank(lines[i]) && !starts_block(lines[i]); ++i) para += " " + trim(lines[i]);
      out += ".PP\n" + markdown_inline_to_roff(para) + "\n";
    }
  }
  return out;
}

}  // namespace pgdr::cli
