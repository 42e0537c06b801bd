// Reading a file that holds a secret (the daemon's bearer token, its TLS private key): refused when
// its mode lets group or others in, as ssh and libpq refuse such a key file, because a secret that
// other users of the machine can read protects nothing.
#pragma once

#include <string>

namespace pgdr::daemon {

// The whole content of path. Throws Error(config) naming setting (e.g. "[daemon] auth_token_file")
// when the file cannot be opened, is not a regular file, or has any group or other permission bit;
// the content never appears in a message. The caller wipes the returned string when done.
std::string read_secret_file(const std::string& path, const std::string& setting);

}  // namespace pgdr::daemon
