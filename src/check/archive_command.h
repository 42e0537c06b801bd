// What an archive_command says about pgdr, read the way /bin/sh would split it: which word runs
// pgdr, whether it runs archive-push, and which --config it gives. Only quoting (single, double,
// backslash) is understood; a command that hides pgdr behind a script or a variable is "does not
// call pgdr", which the check reports with the command shown. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::check {

struct ArchiveCommand {
  std::optional<std::string> pgdr;     // the word that runs pgdr (its last path component is "pgdr")
  bool archive_push = false;           // "archive-push" follows that word
  std::optional<std::string> config;   // the value of --config FILE or --config=FILE after it
};

// The words of a shell command line, quotes removed.
std::vector<std::string> shell_words(std::string_view command);

ArchiveCommand parse_archive_command(std::string_view command);

}  // namespace pgdr::check
