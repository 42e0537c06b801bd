// Path arithmetic for placement checks (is this directory inside that one?). Two spellings of one
// directory must compare equal, or a check is sidestepped by a trailing slash or a symbolic link:
// paths are made absolute, symbolic links are resolved in the part that exists, and ".", ".." and
// repeated slashes are folded. Pure functions over the file system as it is at the call.
#pragma once

#include <string>

namespace pgdr {

// Absolute (relative paths are taken from the working directory), "." and empty segments removed,
// "x/.." folded, no trailing slash ("/" stays "/"). Touches only getcwd.
std::string normal_path(const std::string& path);

// normal_path with every symbolic link resolved in the longest prefix that exists (realpath(3)); the
// rest, which does not exist yet, is appended as written and folded. Where the existing part cannot
// be resolved (no permission), it is kept as written.
std::string resolved_path(const std::string& path);

// Whether path is dir or lies below it; both as returned by normal_path or resolved_path.
bool path_within(const std::string& path, const std::string& dir);

}  // namespace pgdr
