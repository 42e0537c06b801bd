#include "cli/commands.h"
#include "core/error.h"
#include "stream/wal_receiver.h"

namespace pgdr::cli {

void add_wal_stream_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "wal-stream", "receive WAL over the replication protocol into every repository, until SIGINT or SIGTERM");
  static std::string slot;
  cmd->add_option("--slot", slot,
                  "physical replication slot to stream from (default: [stream] slot, else pgdr_<cluster name>)");
  static bool create_slot = false;
  cmd->add_flag("--create-slot", create_slot, "create the slot when it does not exist");
  static bool synchronous = false;
  cmd->add_flag("--synchronous", synchronous,
                "acknowledge WAL as soon as it is durable in the repositories, for synchronous_standby_names");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      const Config& cfg = ctx.config();
      cfg.repo("");  // at least one repository
      stream::ReceiverOptions opt;
      opt.conninfo = cfg.stream.conninfo.empty() ? cfg.cluster.conninfo : cfg.stream.conninfo;
      if (opt.conninfo.empty())
        throw Error(ErrorKind::config,
                    "wal-stream needs a server to stream from: neither [stream] conninfo nor [cluster] "
                    "conninfo is set in " +
                        cfg.source);
      opt.slot = !slot.empty()              ? slot
                 : !cfg.stream.slot.empty() ? cfg.stream.slot
                                            : stream::default_slot_name(cfg.cluster.name);
      opt.create_slot = create_slot;
      opt.synchronous = synchronous;
      opt.application_name = cfg.stream.application_name;
      opt.status_interval = cfg.stream.status_interval;
      opt.flush_interval = cfg.stream.flush_interval;
      opt.retry_max = cfg.stream.retry_max;
      stream::check_slot_name(opt.slot);
      std::vector<repo::Repository> repos;
      for (const auto& rc : cfg.repos) repos.push_back(ctx.open_repo(rc));
      stream::WalReceiver receiver(repos, opt);
      receiver.run();
      return 0;
    };
  });
}

}  // namespace pgdr::cli
