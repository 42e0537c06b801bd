// The [key] section: where the passphrase that unlocks the repositories comes from
// (repo/passphrase.h reads it). Holds no secret: the passphrase is named by an environment
// variable or a command, never written here.
#pragma once

#include <chrono>
#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct KeyConfig {
  std::string passphrase_env;      // name of the variable holding the passphrase
  std::string passphrase_command;  // shell command printing the passphrase on stdout
  // How long passphrase_command may take to print its line and exit before it (and what it
  // started) is killed: a hung secrets CLI must not hang archive_command and restore_command.
  std::chrono::milliseconds command_timeout{std::chrono::seconds(30)};
};

const ConfigSection<KeyConfig>& key_section();

}  // namespace pgdr
