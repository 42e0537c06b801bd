// The settings checks of SetupCheck: each reads what the server reported in pg_settings (read once
// at connection) and says what it means for archiving, streaming and incremental snapshots.
#include <unistd.h>

#include <filesystem>

#include "check/archive_command.h"
#include "check/setup_check.h"
#include "core/duration.h"
#include "core/error.h"

namespace pgdr::check {

namespace {

// A setting that a role without pg_read_all_settings cannot see.
CheckResult hidden(const std::string& check, const std::string& setting) {
  return {.name = check,
          .status = CheckStatus::fail,
          .message = setting + " is not visible to this role",
          .hint = "connect as a superuser or a member of pg_read_all_settings (and of pg_monitor)"};
}

std::string canonical(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : p.string();
}

}  // namespace

void SetupCheck::check_archiving_settings() {
  auto wal_level = setting("wal_level");
  if (!wal_level) {
    add(hidden("wal_level", "wal_level"));
  } else if (*wal_level == "minimal") {
    add({.name = "wal_level", .status = CheckStatus::fail,
         .message = "wal_level = minimal: the WAL cannot rebuild the cluster from a snapshot",
         .hint = "set wal_level = replica (the default) and restart the server"});
  } else {
    add({.name = "wal_level", .message = "wal_level = " + *wal_level});
  }

  auto archive_mode = setting("archive_mode");
  if (!archive_mode) {
    add(hidden("archive_mode", "archive_mode"));
  } else if (*archive_mode == "off") {
    add({.name = "archive_mode", .status = CheckStatus::fail, .message = "archive_mode = off: no WAL is archived",
         .hint = "set archive_mode = on and restart the server"});
  } else {
    add({.name = "archive_mode", .message = "archive_mode = " + *archive_mode});
  }

  // pg_settings gives archive_timeout in seconds.
  if (auto timeout = setting("archive_timeout")) {
    const std::chrono::milliseconds every{std::stoll(*timeout) * 1000};
    const std::string rpo = format_duration(config_.objectives.rpo);
    CheckResult r{.name = "archive_timeout"};
    if (every.count() == 0) {
      r.status = CheckStatus::warn;
      r.message = "archive_timeout = 0: a quiet server may hold unarchived WAL for hours (objective RPO " + rpo + ")";
      r.hint = "set archive_timeout below the RPO objective, e.g. archive_timeout = '5min', or run pgdr wal-stream";
    } else if (every > config_.objectives.rpo) {
      r.status = CheckStatus::warn;
      r.message = "archive_timeout = " + format_duration(every) + " is above the RPO objective " + rpo;
      r.hint = "set archive_timeout below " + rpo + ", or run pgdr wal-stream";
    } else {
      r.message = "archive_timeout = " + format_duration(every) + " (objective RPO " + rpo + ")";
    }
    add(std::move(r));
  }

}

// What wal-stream, page validation and incremental snapshots need; none of them stops archiving.
void SetupCheck::check_server_features() {
  auto senders = setting("max_wal_senders");
  auto slots = setting("max_replication_slots");
  if (senders && slots) {
    CheckResult r{.name = "replication"};
    r.message = "max_wal_senders = " + *senders + ", max_replication_slots = " + *slots;
    if (*senders == "0" || *slots == "0") {
      r.status = CheckStatus::warn;
      r.message += ": pgdr wal-stream and standbys cannot connect";
      r.hint = "set max_wal_senders and max_replication_slots to at least 2 and restart, if you want wal-stream";
    }
    add(std::move(r));
  }

  if (auto checksums = setting("data_checksums")) {
    if (*checksums == "on")
      add({.name = "data_checksums", .message = "data checksums are on: every block read is validated"});
    else
      add({.name = "data_checksums", .status = CheckStatus::warn,
           .message = "data checksums are off: snapshots cannot detect damaged pages",
           .hint = "enable them with pg_checksums --enable while the server is stopped"});
  }

  // Only 17 and later have it: earlier majors have no WAL summaries and the setting is absent.
  if (auto summarize = setting("summarize_wal")) {
    if (*summarize == "on")
      add({.name = "summarize_wal", .message = "summarize_wal = on: snapshots read only the changed blocks"});
    else
      add({.name = "summarize_wal", .status = CheckStatus::warn,
           .message = "summarize_wal = off: each snapshot finds changed blocks by reading the archived WAL",
           .hint = "set summarize_wal = on (a reload suffices) for faster incremental snapshots"});
  }
}

void SetupCheck::check_archive_command() {
  CheckResult r{.name = "archive_command"};
  if (auto library = setting("archive_library"); library && !library->empty()) {
    r.status = CheckStatus::fail;
    r.message = "archive_library = '" + *library + "' is set: the server ignores archive_command";
    r.hint = "set archive_library = '' and " + archive_command_hint();
    add(std::move(r));
    return;
  }
  auto command = setting("archive_command");
  if (!command) {
    add(hidden("archive_command", "archive_command"));
    return;
  }
  r.status = CheckStatus::fail;
  r.hint = archive_command_hint();
  const ArchiveCommand parsed = parse_archive_command(*command);
  if (command->empty()) {
    r.message = "archive_command is empty";
  } else if (!parsed.pgdr) {
    r.message = "archive_command = '" + *command + "' does not call pgdr";
  } else if (!parsed.archive_push) {
    r.message = "archive_command = '" + *command + "' calls pgdr but not archive-push";
  } else if (parsed.pgdr->find('/') != std::string::npos && ::access(parsed.pgdr->c_str(), X_OK) != 0) {
    r.message = "archive_command = '" + *command + "' calls " + *parsed.pgdr + ", which is not an executable file";
  } else if (!parsed.config) {
    r.status = CheckStatus::warn;
    r.message = "archive_command = '" + *command + "' names no --config: the server's pgdr looks for $PGDR_CONFIG, " +
                "pgdr.toml in the data directory, then /etc/pgdr/pgdr.toml";
    r.hint = "name the configuration: " + archive_command_hint();
  } else {
    check_archive_config(*command, *parsed.config, r);
  }
  add(std::move(r));
}

// The configuration archive_command names must exist and describe this cluster: another one
// would archive into another cluster's repositories, or refuse every segment.
void SetupCheck::check_archive_config(const std::string& command, const std::string& path, CheckResult& r) const {
  const std::string data_dir = setting("data_directory").value_or(config_.cluster.pgdata);
  // The archiver runs the command in the data directory.
  const std::string file = path.starts_with("/") ? path : data_dir + "/" + path;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    r.message = "archive_command = '" + command + "' names --config " + file + ", which does not exist";
    return;
  }
  Config named;
  try {
    named = load_config(file);
  } catch (const Error& e) {
    r.message = "archive_command names --config " + file + ", which pgdr cannot read: " + e.what();
    return;
  }
  if (named.cluster.name != config_.cluster.name) {
    r.message = "archive_command names --config " + file + ", whose [cluster] name '" + named.cluster.name +
                "' is not '" + config_.cluster.name + "'";
    return;
  }
  if (!named.cluster.pgdata.empty() && canonical(named.cluster.pgdata) != canonical(data_dir)) {
    r.message = "archive_command names --config " + file + ", whose [cluster] pgdata " + named.cluster.pgdata +
                " is not this server's data directory " + data_dir;
    return;
  }
  r.status = CheckStatus::pass;
  r.hint.clear();
  r.message = "archive_command = '" + command + "'";
}

}  // namespace pgdr::check
