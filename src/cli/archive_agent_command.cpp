#include "archive/agent_socket.h"
#include "archive/archive_agent.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/secret_memory.h"
#include "storage/open_storage.h"

namespace pgdr::cli {

void add_archive_agent_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("archive-agent",
                                 "hold the repositories' keys and serve archive-push and archive-get of this host over "
                                 "a Unix socket until SIGTERM");
  cmd->callback([&ctx, &body] {
    body = [&ctx]() -> int {
      // Before any key exists in this process: no core file and no same-user ptrace may read it.
      forbid_core_dumps();
      const Config& cfg = ctx.config();
      const std::string socket = archive::agent_socket_path(cfg);
      if (socket.empty())
        throw Error(ErrorKind::config, "the archive agent needs a socket path",
                    "set [archive] agent_socket, or [cluster] pgdata for the default beside the data directory");
      archive::ArchiveAgent agent(cfg, ctx.open_repos(),
                                  [](const RepoConfig& rc) { return storage::open_storage(rc); });
      return agent.run(socket);
    };
  });
}

}  // namespace pgdr::cli
