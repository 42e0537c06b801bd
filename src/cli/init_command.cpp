#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "repo/format.h"
#include "repo/passphrase.h"
#include "repo/placement.h"
#include "storage/open_storage.h"

namespace pgdr::cli {

void add_init_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("init", "create each configured repository (refuses to overwrite one)");
  cmd->add_option("--repo", ctx.repo_name, "create only the repository with this name");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      const Config& cfg = ctx.config();
      if (cfg.repos.empty()) throw Error(ErrorKind::config, "no [[repo]] in " + cfg.source);
      repo::refuse_repository_in_cluster(cfg.cluster, cfg.repos);
      repo::Passphrase pass = repo::read_passphrase(cfg.key);
      for (const auto& r : cfg.repos) {
        if (!ctx.repo_name.empty() && r.name != ctx.repo_name) continue;
        auto store = storage::create_storage(r);
        repo::Repository::create(*store, r.name, pass.view(), repo::kDefaultBlockBytes, repo::kDefaultPackTargetBytes);
        std::printf("created repository '%s' at %s (format version %d)\n", r.name.c_str(), store->describe().c_str(),
                    repo::kFormatVersion);
      }
      if (!ctx.repo_name.empty()) cfg.repo(ctx.repo_name);  // names an unknown repository: error
      return 0;
    };
  });
}

}  // namespace pgdr::cli
