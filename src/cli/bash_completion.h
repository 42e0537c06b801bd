// The bash completion script of pgdr, made from the same CLI11 definitions as --help and the
// manual page, so that it offers exactly the commands, subcommands and options the program takes.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace pgdr::cli {

// A script for /usr/share/bash-completion/completions/pgdr (or `source`): it completes command
// and subcommand names, each command's options and the global ones, the choices of an option that
// has a fixed set, and file names for an option whose value is a FILE or DIR and for positional
// arguments. root is the whole application.
std::string bash_completion_script(const CLI::App& root);

}  // namespace pgdr::cli
