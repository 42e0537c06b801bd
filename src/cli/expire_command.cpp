#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cli/audit_record.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "repo/expire.h"
#include "repo/format.h"

namespace pgdr::cli {

namespace {

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::uint64_t total_bytes(const std::vector<repo::RemovedObject>& objects) {
  std::uint64_t n = 0;
  for (const auto& o : objects) n += o.size_bytes;
  return n;
}

nlohmann::json objects_json(const std::vector<repo::RemovedObject>& objects) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& o : objects) out.push_back({{"object", o.name}, {"size_bytes", o.size_bytes}});
  return out;
}

nlohmann::json result_json(const std::string& name, const repo::ExpireResult& r) {
  nlohmann::json snaps = nlohmann::json::array();
  for (const auto& d : r.snapshots)
    snaps.push_back({{"id", d.info.id},
                     {"start_time", d.info.start_time},
                     {"system_identifier", d.info.system_identifier},
                     {"keep", d.keep},
                     {"reasons", d.reasons}});
  nlohmann::json repacked = nlohmann::json::array();
  for (const auto& p : r.repacked)
    repacked.push_back({{"object", p.name}, {"size_bytes", p.size_bytes}, {"live_bytes", p.live_bytes}});
  return {{"name", name},
          {"dry_run", r.dry_run},
          {"snapshots", snaps},
          {"removed",
           {{"snapshot_objects", objects_json(r.snapshot_objects)},
            {"packs", objects_json(r.packs)},
            {"wal", objects_json(r.wal)},
            {"wal_summaries", objects_json(r.wal_summaries)},
            {"retired_markers", objects_json(r.retired_markers)}}},
          {"packs_kept", r.packs_kept},
          {"repack",
           {{"packs", repacked},
            {"written", objects_json(r.repack_written)},
            {"manifests_rewritten", r.manifests_rewritten},
            {"infos_rewritten", r.infos_rewritten},
            {"deferred", r.repack_deferred},
            {"retired_waiting", r.retired_waiting},
            {"retired_waiting_bytes", r.retired_waiting_bytes}}},
          {"warnings", r.warnings},
          {"oldest_wal_needed", r.oldest_wal_needed},
          {"wal_note", r.wal_note},
          {"bytes_removed", r.bytes_removed},
          {"bytes_written", r.bytes_written},
          {"bytes_freed", r.bytes_freed}};
}

std::string summary(const repo::ExpireResult& r) {
  std::size_t kept = 0;
  for (const auto& d : r.snapshots) kept += d.keep;
  return "kept " + std::to_string(kept) + " of " + std::to_string(r.snapshots.size()) + " snapshots, removed " +
         std::to_string(r.snapshots.size() - kept) + " snapshots, " + std::to_string(r.packs.size()) + " packs, " +
         std::to_string(r.wal.size()) + " WAL files, repacked " + std::to_string(r.repacked.size()) +
         " packs into " + std::to_string(r.repack_written.size()) + ", freed " + std::to_string(r.bytes_freed) +
         " bytes";
}

void print_result(const std::string& name, const repo::ExpireResult& r) {
  std::size_t kept = 0;
  for (const auto& d : r.snapshots) kept += d.keep;
  const char* verb = r.dry_run ? "would remove" : "removed";
  std::printf("repository '%s'%s: %zu snapshot%s %s, %zu %s\n", name.c_str(), r.dry_run ? " (dry run)" : "", kept,
              kept == 1 ? "" : "s", r.dry_run ? "to keep" : "kept", r.snapshots.size() - kept,
              r.dry_run ? "to remove" : "removed");
  for (const auto& d : r.snapshots)
    std::printf("  %-6s %-26s %-24s %s\n", d.keep ? "keep" : "remove", d.info.id.c_str(), d.info.start_time.c_str(),
                joined(d.reasons).c_str());
  std::printf("  %s %zu snapshot objects (%s), %zu packs (%s), %zu WAL files (%s); %zu packs kept\n", verb,
              r.snapshot_objects.size(), human_bytes(total_bytes(r.snapshot_objects)).c_str(), r.packs.size(),
              human_bytes(total_bytes(r.packs)).c_str(), r.wal.size(), human_bytes(total_bytes(r.wal)).c_str(),
              r.packs_kept);
  if (!r.repacked.empty()) {
    std::uint64_t size = 0, live = 0;
    for (const auto& p : r.repacked) {
      size += p.size_bytes;
      live += p.live_bytes;
    }
    if (r.dry_run)
      std::printf("  would repack %zu packs (%s) holding %s that kept snapshots need\n", r.repacked.size(),
                  human_bytes(size).c_str(), human_bytes(live).c_str());
    else
      std::printf("  repacked %zu packs (%s): %s that kept snapshots need copied into %zu new packs (%s), %zu "
                  "manifests rewritten\n",
                  r.repacked.size(), human_bytes(size).c_str(), human_bytes(live).c_str(), r.repack_written.size(),
                  human_bytes(total_bytes(r.repack_written)).c_str(), r.manifests_rewritten.size());
  }
  if (r.repack_deferred > 0)
    std::printf("  %zu more packs to repack, left for later expires ([retention] repack_max_packs)\n",
                r.repack_deferred);
  if (r.retired_waiting > 0)
    std::printf("  %zu repacked packs (%s) kept until their grace period ends ([retention] repack_grace)\n",
                r.retired_waiting, human_bytes(r.retired_waiting_bytes).c_str());
  if (!r.oldest_wal_needed.empty())
    std::printf("  WAL kept from %s on (where the oldest kept snapshot starts)\n", r.oldest_wal_needed.c_str());
  if (!r.wal_note.empty()) std::printf("  %s\n", r.wal_note.c_str());
  if (r.bytes_freed >= 0)
    std::printf("  %s %s\n", r.dry_run ? "would free" : "freed",
                human_bytes(static_cast<std::uint64_t>(r.bytes_freed)).c_str());
  else
    std::printf("  grew by %s until repacked packs are removed\n",
                human_bytes(static_cast<std::uint64_t>(-r.bytes_freed)).c_str());
}

// A rewritten manifest is new content under an old name: the catalog must not let an incremental
// verify skip it as verified before.
void forget_rewritten(const Config& cfg, const std::string& repo_name, const repo::ExpireResult& r) {
  if (r.manifests_rewritten.empty()) return;
  std::vector<std::string> objects;
  for (const auto& id : r.manifests_rewritten) objects.push_back(repo::snapshot_manifest_object(id));
  // No catalog yet: no verify ran here, nothing is marked verified.
  const std::string path = catalog::catalog_path(cfg);
  if (!std::filesystem::exists(path)) return;
  try {
    catalog::Catalog::open(path).forget_verified(repo_name, objects);
  } catch (const Error& e) {
    log_warning("repository '" + repo_name + "': rewritten manifests not marked for the next verify: " + e.what());
  }
}

}  // namespace

void add_expire_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("expire", "remove snapshots out of the retention policy and what only they need");
  cmd->add_option("--repo", ctx.repo_name, "expire this repository only (default: every configured one)")
      ->type_name("NAME");
  static bool dry_run = false;
  static bool json = false;
  cmd->add_flag("--dry-run", dry_run, "report what would be removed, remove nothing");
  cmd->add_flag("--json", json, "print the report as JSON");
  cmd->callback([&ctx, &body] {
    body = [&ctx] {
      const Config& cfg = ctx.config();
      repo::ExpireOptions opt;
      opt.policy = cfg.retention;
      opt.now = wall_now();
      opt.dry_run = dry_run;
      opt.lock_wait = cfg.retention.lock_wait;
      opt.repack_threshold = cfg.retention.repack_threshold / 100.0;
      opt.repack_grace = cfg.retention.repack_grace;
      opt.repack_max_packs = static_cast<std::size_t>(cfg.retention.repack_max_packs);
      std::vector<repo::Repository> repos = ctx.open_repos();
      nlohmann::json out = {{"repositories", nlohmann::json::array()}};
      std::vector<Error> failed;
      for (const auto& r : repos) {
        try {
          // A dry run changes nothing and is not recorded; a real one is, with what it removed.
          repo::ExpireResult result = dry_run ? repo::run_expire(r, opt)
                                              : audited({&r}, "expire", "repository " + r.name(),
                                                        [&] { return repo::run_expire(r, opt); });
          for (const auto& w : result.warnings) log_warning("repository '" + r.name() + "': " + w);
          if (!dry_run) forget_rewritten(cfg, r.name(), result);
          if (!dry_run) record_audit(r, "expire", "repository " + r.name(), "OK", summary(result));
          out["repositories"].push_back(result_json(r.name(), result));
          if (!json) print_result(r.name(), result);
        } catch (const Error& e) {
          // The other repositories are still expired; the command fails at the end.
          if (e.kind() == ErrorKind::interrupted) throw;
          failed.push_back(e);
          out["repositories"].push_back({{"name", r.name()}, {"error", e.what()}});
        }
      }
      if (json) std::printf("%s\n", out.dump(2).c_str());
      if (!failed.empty()) {
        std::fflush(stdout);
        const Error& first = failed.front();
        throw Error(first.kind(),
                    std::string(first.what()) +
                        (failed.size() > 1 ? " (and " + std::to_string(failed.size() - 1) + " more repositories failed)"
                                           : ""),
                    first.hint());
      }
      return 0;
    };
  });
}

}  // namespace pgdr::cli
