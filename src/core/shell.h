// Command lines that another program runs through /bin/sh on pgdr's behalf: PostgreSQL's
// restore_command and archive_command, which call this pgdr binary back with its configuration.
#pragma once

#include <string>
#include <string_view>

namespace pgdr {

// s in single quotes for /bin/sh, any character included.
std::string shell_quoted(std::string_view s);

// The absolute path of the running pgdr binary. Throws Error(internal) when it cannot be found.
std::string self_executable();

// config_path made absolute with every symbolic link resolved (realpath(3)): a server runs
// archive_command and restore_command from its data directory. Throws Error when it does not exist.
std::string absolute_config_path(const std::string& config_path);

// "'<binary>' --config '<config_path>'", each shell-quoted: the start of a command line that calls
// pgdr back with its configuration.
std::string pgdr_invocation(const std::string& binary, const std::string& config_path);

// pgdr_invocation of this binary with config_path made absolute: how a server started from a
// restored copy calls pgdr back; it runs the command from its data directory.
std::string pgdr_invocation(const std::string& config_path);

}  // namespace pgdr
