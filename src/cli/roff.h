// Text for man(7) pages: escaping, inline markdown, and the block markdown of the pages under docs/
// (headings, paragraphs, lists, tables, fenced code), so that a manual page can be made from the
// same document as the markdown manual. Pure functions of their input.
#pragma once

#include <string>
#include <string_view>

namespace pgdr::cli {

// Roff text: backslashes and minus signs escaped (a bare '-' is a hyphen, and options must be
// typed with ASCII minus), characters outside ASCII as groff's \[uXXXX] (man pages are read by
// tools that assume latin-1 input).
std::string roff_escape(std::string_view text);

// roff_escape, and protected when it would start with a control character ('.' or '\'').
std::string roff_line(std::string_view text);

// Inline markdown to roff: `code` and **strong** in bold, [text](link) as its text, the rest
// escaped; one line, protected like roff_line.
std::string markdown_inline_to_roff(std::string_view md);

// A markdown document to the body of a man page: its "# title" line dropped, "## heading" as .SH
// (upper-cased unless it names a configuration section such as "[cluster]"), "### heading" as .SS,
// paragraphs as .PP, "- " and "1. " lists as .IP, fenced code as indented no-fill text, and each
// table row as a .TP entry tagged with its first cell, the other cells as "header: value" (a last
// column "meaning" as plain text after them). Text before the first "##" comes out with no
// section heading: the caller puts one (e.g. .SH DESCRIPTION) before it.
std::string markdown_to_man_body(std::string_view markdown);

}  // namespace pgdr::cli
