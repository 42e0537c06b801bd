#include "repo/key_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<KeyConfig>& key_section() {
  static const auto section = ConfigSection<KeyConfig>("key")
      .text("passphrase_env", &KeyConfig::passphrase_env)
      .text("passphrase_command", &KeyConfig::passphrase_command)
      .duration("command_timeout", &KeyConfig::command_timeout,
                at_least(std::chrono::milliseconds(1), "[key] command_timeout must be above 0"))
      .check([](const KeyConfig& k, const ConfigTable& t) {
        if (!k.passphrase_env.empty() && !k.passphrase_command.empty())
          t.fail("[key] takes passphrase_env or passphrase_command, not both");
      });
  return section;
}

}  // namespace pgdr
