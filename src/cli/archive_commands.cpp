#include <fcntl.h>
#include <unistd.h>

#include "archive/agent_client.h"
#include "archive/archive_get.h"
#include "storage/open_storage.h"
#include "archive/archive_push.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "pg/lsn.h"
#include "repo/wal_archive.h"

namespace pgdr::cli {

void add_archive_push_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "archive-push", "store a WAL file in every repository (for archive_command = 'pgdr --config FILE archive-push %p')");
  static std::string path;
  cmd->add_option("PATH", path, "the WAL file (%p): a segment, partial segment, history or backup history file")
      ->required();
  static int parallel = 1;
  cmd->add_option("--parallel", parallel,
                  "also push up to N-1 segments PostgreSQL has queued after this one, at the same time; their "
                  "later calls return at once")
      ->default_val(1)
      ->check(CLI::Range(1, 64));
  static bool replace_invalid = false;
  cmd->add_flag("--replace-invalid", replace_invalid,
                "replace an object stored under this name that is not valid WAL (and only such a one) with this "
                "file, which must be; recorded in the audit log");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      // A segment pushed ahead by an earlier call is answered before any key derivation.
      if (!replace_invalid && archive::consume_pushed_ahead_marker(path)) {
        log_debug(path + " was pushed ahead by an earlier call: nothing to do");
        return 0;
      }
      // The archive agent holds the key already; without one (or --replace-invalid, a manual
      // repair) the work is done here.
      std::optional<std::vector<archive::PushResult>> results;
      if (!replace_invalid) results = archive::push_through_agent(ctx.config(), path, parallel);
      if (!results) {
        std::vector<repo::Repository> repos = ctx.open_repos();
        archive::PushOptions opt;
        opt.parallel = parallel;
        opt.cluster_name = ctx.config().cluster.name;
        opt.replace_invalid = replace_invalid;
        results = archive::push(path, repos, opt);
      }
      const std::string name = path.substr(path.rfind('/') + 1);
      for (const auto& r : *results) {
        log_debug(name + " in repository '" + r.repo + "': " +
                  (r.outcome == repo::PushOutcome::already_archived ? "already archived with the same content as "
                                                                    : "stored as ") +
                  repo::wal_object(name));
        if (r.replaced)
          log_info("replaced the invalid object stored under " + path.substr(path.rfind('/') + 1) +
                   " in repository '" + r.repo + "' (recorded in its audit log)");
      }
      return 0;
    };
  });
}

namespace {
int fetch(Context& ctx, int cannot);
std::string name, dest;
int prefetch = 4;
std::uint64_t segment_bytes = 16u << 20;
std::string until;
std::string until_lsn;
}  // namespace

void add_archive_get_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "archive-get",
      "fetch a WAL file for recovery (for restore_command = 'pgdr --config FILE archive-get %f %p'); exit 1 when "
      "no repository has it, 126 when it exists but cannot be read intact");
  cmd->add_option("WALNAME", name, "the file PostgreSQL asks for (%f)")->required();
  cmd->add_option("DEST", dest, "where to write it (%p)")->required();
  cmd->add_option("--prefetch", prefetch, "segments to fetch ahead in parallel (0: none)")
      ->default_val(4)
      ->check(CLI::Range(0, 64));
  cmd->add_option("--wal-segment-size", segment_bytes, "the cluster's WAL segment size in bytes")
      ->default_val(16u << 20);
  cmd->add_option("--until", until,
                  "answer 'absent' (exit 1) for WAL segments newer than this one (a drill recovers only what "
                  "was archived when the disaster was declared)")
      ->type_name("SEGMENT");
  cmd->add_option("--until-lsn", until_lsn,
                  "end the WAL at this LSN: the segment holding it is served with zeros from there on (a drill "
                  "recovers only what wal-stream had made durable when the disaster was declared)")
      ->type_name("LSN");
  cmd->add_option("--repo", ctx.repo_name, "read from this repository only (default: each in turn, first intact copy)");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      // 24 hexadecimal digits: a segment; names compare in (timeline, segment) order.
      if (!until.empty() && name.size() == 24 && name.find_first_not_of("0123456789ABCDEF") == std::string::npos &&
          name > until) {
        log_debug("WAL file " + name + " is after --until " + until + ": answered as absent");
        return 1;
      }
      // What recovery does with the exit code matters more than the contract's 1/2: any failure
      // here must stop archive recovery (126) rather than pass for "no more WAL" and end it early.
      // A standby never ends recovery for a missing file, so it gets 1 and simply retries later.
      const bool standby = access("standby.signal", F_OK) == 0;
      const int cannot = standby ? 1 : 126;
      try {
        return fetch(ctx, cannot);
      } catch (const Error& e) {
        log_error(e.what());
        return cannot;
      }
    };
  });
}

namespace {

// --until-lsn: when the fetched file is the segment holding that LSN, zeros from it to the
// segment's end, durably: recovery reads an invalid record there and ends, as at the end of the WAL.
void end_wal_at(const std::string& lsn_text) {
  auto lsn = pg::parse_lsn(lsn_text);
  if (!lsn) throw Error(ErrorKind::usage, "--until-lsn is not an LSN: " + lsn_text);
  auto seg = pg::parse_segment_file_name(name, segment_bytes);
  if (!seg || seg->segno != pg::segment_number(*lsn, segment_bytes)) return;
  const std::uint64_t offset = lsn->value % segment_bytes;
  File f = File::open(dest, O_WRONLY);
  std::vector<std::uint8_t> zeros(std::min<std::uint64_t>(segment_bytes - offset, 1 << 20), 0);
  for (std::uint64_t at = offset; at < segment_bytes; at += zeros.size())
    f.pwrite_all(ByteView(zeros.data(), std::min<std::uint64_t>(zeros.size(), segment_bytes - at)), at);
  f.sync();
  f.close();
}

int fetch(Context& ctx, int cannot) {
      // The repositories to read, in order: --repo's alone, or every configured one.
      Config cfg = ctx.config();
      cfg.repos = ctx.selected_repos();
      archive::GetOptions opt;
      opt.prefetch = prefetch;
      opt.segment_bytes = segment_bytes;
      opt.cluster_name = cfg.cluster.name;
      opt.open_store = [](const RepoConfig& rc) { return storage::open_storage(rc); };
      // Through the archive agent when one runs (never for --repo, a manual choice of copy).
      std::optional<archive::GetResult> via;
      if (ctx.repo_name.empty()) via = archive::get_through_agent(cfg, name, dest, opt);
      auto r = via ? *via
                   : archive::get(name, dest, cfg, [&ctx](const RepoConfig& rc) { return ctx.open_repo(rc); }, opt);
      switch (r.outcome) {
        case archive::GetOutcome::found:
          for (const auto& p : r.problems) log_warning(p + "; read it from " + r.from_repo);
          log_debug("WAL file " + name + " written to " + dest + ", read from " + r.from_repo);
          if (!until_lsn.empty()) end_wal_at(until_lsn);
          return 0;
        case archive::GetOutcome::absent:
          log_debug("WAL file " + name + " is in no repository: the end of the archive");
          return 1;  // the normal end of the archive: no message, recovery ends there
        case archive::GetOutcome::unavailable: {
          std::string line = "unable to fetch WAL file " + name + " intact from any repository";
          for (const auto& p : r.problems) line += "; " + p;
          log_error(line, "recovery stops here rather than end early without this WAL; repair or reach the "
                          "repository and start the server again");
          return cannot;
        }
      }
      return cannot;
}

}  // namespace

}  // namespace pgdr::cli
