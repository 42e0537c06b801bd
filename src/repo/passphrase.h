// Where the passphrase comes from: an environment variable or a command (a KMS or secrets-manager
// CLI) named in [key]. The passphrase itself is never logged, printed or put in a message.
#pragma once

#include <string>

#include "core/bytes.h"
#include "repo/key_config.h"

namespace pgdr::repo {

struct Passphrase {
  SecretBytes secret;
  std::string source;  // "$PGDR_PASSPHRASE" or "passphrase_command": safe to print
  std::string_view view() const { return as_chars(secret.view()); }
};

// Throws Error(config) when [key] names no source, the variable is unset or empty, or the command
// fails, prints nothing or does not answer within command_timeout. The command's first line is the
// passphrase: reading stops there, and only the command's own exit is awaited.
Passphrase read_passphrase(const KeyConfig& key);
// Same for an explicit variable name or command (pgdr key change's new passphrase).
// label names the command in messages ("--new-passphrase-command").
Passphrase read_passphrase_from(const std::string& env_name, const std::string& command, const std::string& label,
                                std::chrono::milliseconds timeout);

}  // namespace pgdr::repo
