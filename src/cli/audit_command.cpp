#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "repo/audit_log.h"

namespace pgdr::cli {

void add_audit_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("audit", "print the repository's audit log and check its hash chain");
  static bool json = false;
  cmd->add_flag("--json", json, "print JSON for scripts");
  cmd->add_option("--repo", ctx.repo_name, "repository whose log to read (default: the first configured)")->type_name("NAME");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      repo::Repository repo = ctx.open_repo();
      repo::AuditLog log = repo::read_audit(repo);
      if (json) {
        nlohmann::json entries = nlohmann::json::array();
        for (const auto& e : log.entries)
          entries.push_back({{"seq", e.seq},
                             {"time", e.time},
                             {"user", e.user},
                             {"host", e.host},
                             {"command", e.command},
                             {"what", e.what},
                             {"result", e.result},
                             {"details", e.details},
                             {"prev_sha256", e.prev_sha256}});
        nlohmann::json out = {{"repository", repo.name()},
                              {"intact", log.intact()},
                              {"entries", entries},
                              {"problems", log.problems}};
        std::printf("%s\n", out.dump(2).c_str());
      } else {
        std::printf("audit log of repository '%s': %zu entr%s, chain %s\n", repo.name().c_str(), log.entries.size(),
                    log.entries.size() == 1 ? "y" : "ies", log.intact() ? "intact" : "BROKEN");
        for (const auto& e : log.entries)
          std::printf("  %6llu  %-24s %-20s %-8s %-5s %s: %s\n", static_cast<unsigned long long>(e.seq), e.time.c_str(),
                      (e.user + "@" + e.host).c_str(), e.command.c_str(), e.result.c_str(), e.what.c_str(),
                      e.details.c_str());
        for (const auto& p : log.problems) std::printf("  PROBLEM: %s\n", p.c_str());
      }
      std::fflush(stdout);
      if (!log.intact())
        throw Error(ErrorKind::corrupt, "the audit log of repository '" + repo.name() + "' is not intact: " +
                                            log.problems.front() +
                                            (log.problems.size() > 1 ? " (and " + std::to_string(log.problems.size() - 1) +
                                                                           " more problems)"
                                                                     : ""));
      return 0;
    };
  });
}

}  // namespace pgdr::cli
