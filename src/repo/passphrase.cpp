#include "repo/passphrase.h"

#include <cstdlib>

#include "core/duration.h"
#include "core/error.h"
#include "core/subprocess.h"

namespace pgdr::repo {

Passphrase read_passphrase_from(const std::string& env_name, const std::string& command, const std::string& label,
                                std::chrono::milliseconds timeout) {
  if (!env_name.empty()) {
    const char* v = std::getenv(env_name.c_str());
    if (!v || !*v)
      throw Error(ErrorKind::config, "passphrase variable " + env_name + " is not set or empty",
                  "export it in the environment that runs pgdr (archive_command runs as the server user)");
    return {SecretBytes(as_bytes(v)), "$" + env_name};
  }
  if (!command.empty()) {
    RunLimits limits;
    limits.timeout = timeout;
    limits.first_line_only = true;
    ProcessResult r = run_limited({"/bin/sh", "-c", command}, limits);
    if (r.timed_out) {
      std::fill(r.out.begin(), r.out.end(), '\0');
      throw Error(ErrorKind::config, label + " did not print a line and exit within " + format_duration(timeout) +
                                         " (killed)",
                  "check the secrets tool by hand as the user that runs pgdr; [key] command_timeout sets the limit");
    }
    if (r.exit_code != 0)
      throw Error(ErrorKind::config, label + " failed with exit code " + std::to_string(r.exit_code));
    std::string& out = r.out;
    // Commands print a trailing newline; the passphrase is the first line.
    if (auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
    if (!out.empty() && out.back() == '\r') out.pop_back();
    Passphrase p{SecretBytes(as_bytes(out)), label};
    std::fill(out.begin(), out.end(), '\0');
    if (p.secret.size() == 0) throw Error(ErrorKind::config, label + " printed no passphrase");
    return p;
  }
  throw Error(ErrorKind::config, "no passphrase source: [key] needs passphrase_env or passphrase_command");
}

Passphrase read_passphrase(const KeyConfig& key) {
  return read_passphrase_from(key.passphrase_env, key.passphrase_command, "passphrase_command", key.command_timeout);
}

}  // namespace pgdr::repo
