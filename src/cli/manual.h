// Help and manual from one source, the CLI11 definitions of the commands (src/cli/*_command.cpp):
// the help text of the program or of one command, exactly as `pgdr [COMMAND...] --help` prints it,
// and the manual page pgdr.1 (roff) built from the same definitions plus the first paragraph of
// each command's page docs/commands/NAME.md (see command_pages.h); and pgdr.toml.5 from
// docs/CONFIGURATION.md.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::cli {

// What `pgdr WORDS... --help` prints: root is the whole application, words name a command and its
// subcommands ("key", "change"); none gives `pgdr --help`. Throws Error(usage) for an unknown name.
std::string help_text(const CLI::App& root, const std::vector<std::string>& words);

// The manual page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS (global), COMMANDS (one section per
// command and subcommand: its page's first paragraph, usage and options), EXIT STATUS,
// ENVIRONMENT (every variable pgdr reads), FILES, EXAMPLES, SEE ALSO. Option values are named
// (FILE, N, DIR) rather than by CLI11's type names, and ranges and choices said in words.
std::string manual_page(const CLI::App& root);

// The manual page pgdr.toml(5) (roff), from docs/CONFIGURATION.md as built into the binary (see
// configuration_page.h): every section and key, its example as EXAMPLES, then ENVIRONMENT.
std::string configuration_manual_page();

// The first paragraph of a markdown page: the first block of text lines after its title, joined
// by spaces; "" when there is none.
std::string first_paragraph(std::string_view markdown);

}  // namespace pgdr::cli
