#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "repo/keys.h"
#include "repo/lock.h"
#include "repo/passphrase.h"

namespace pgdr::cli {

void add_key_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* key = app.add_subcommand("key", "manage the passphrases that unlock a repository's master key");
  key->require_subcommand(1);
  key->add_option("--repo", ctx.repo_name, "repository (default: the first configured)");

  auto* change = key->add_subcommand(
      "change", "replace the configured passphrase with a new one (adds a key slot, then removes the old; no data is rewritten)");
  static std::string new_env, new_command;
  auto* env_opt = change->add_option("--new-passphrase-env", new_env, "environment variable holding the new passphrase");
  auto* cmd_opt =
      change->add_option("--new-passphrase-command", new_command, "command printing the new passphrase on stdout");
  env_opt->excludes(cmd_opt);
  change->callback([&ctx, &body] {
    body = [&ctx] {
      if (new_env.empty() && new_command.empty())
        throw Error(ErrorKind::usage, "key change needs --new-passphrase-env or --new-passphrase-command");
      repo::Repository repo = ctx.open_repo();
      repo::Passphrase fresh = repo::read_passphrase_from(new_env, new_command, "--new-passphrase-command",
                                                             ctx.config().key.command_timeout);
      repo::RepoLock lock = repo::RepoLock::acquire(repo.store(), repo.name(), "key change");
      // The new slot is durable before the old one goes: a crash in between leaves both working.
      std::string slot = repo::add_key_slot(repo.store(), repo.settings().id, repo.key(), fresh.view());
      repo::remove_key_slot(repo.store(), repo.key_slot());
      std::printf("repository '%s': passphrase changed (key slot %s replaces %s)\n", repo.name().c_str(), slot.c_str(),
                  repo.key_slot().c_str());
      std::printf("HINT: update [key] in the configuration to the new passphrase source\n");
      return 0;
    };
  });

  auto* list = key->add_subcommand("list", "list key slots");
  list->callback([&ctx, &body] {
    body = [&ctx] {
      repo::Repository repo = ctx.open_repo();
      for (const auto& s : repo::list_key_slots(repo.store()))
        std::printf("%s  created %s%s\n", s.slot_id.c_str(), s.created.c_str(),
                    s.slot_id == repo.key_slot() ? "  (opens with the configured passphrase)" : "");
      return 0;
    };
  });
}

}  // namespace pgdr::cli
