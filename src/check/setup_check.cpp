#include "check/setup_check.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "io/kdf.h"
#include "pg/binaries.h"
#include "pg/version.h"
#include "repo/format.h"
#include "repo/passphrase.h"
#include "repo/repository.h"
#include "storage/open_storage.h"

namespace pgdr::check {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

SetupCheck::SetupCheck(const Config& config, CheckOptions options) : config_(config), options_(std::move(options)) {
  report_.cluster = config.cluster.name;
}

SetupCheck::~SetupCheck() = default;

Report SetupCheck::run() {
  const auto start = Clock::now();
  check_connection();
  if (conn_) {
    check_archiving_settings();
    check_server_features();
    check_archive_command();
  }
  check_repositories();
  check_server_programs();
  // The forced switch proves archiving only when archiving can work at all; the checks above have
  // already said why it cannot, and a switch then would only cost a segment and the timeout.
  if (conn_ && !failed("archive_mode") && !failed("wal_level") && !failed("archive_command") && !reachable_.empty())
    check_archiving();
  report_.seconds = seconds_since(start);
  return report_;
}

void SetupCheck::add(CheckResult r) { report_.checks.push_back(std::move(r)); }

std::optional<std::string> SetupCheck::setting(const std::string& name) const {
  auto it = settings_.find(name);
  if (it == settings_.end()) return std::nullopt;
  return it->second;
}

bool SetupCheck::failed(const std::string& check) const {
  for (const auto& c : report_.checks)
    if (c.name == check && c.status == CheckStatus::fail) return true;
  return false;
}

std::string SetupCheck::archive_command_hint() const {
  return "set archive_command = '" + options_.pgdr_invocation + " archive-push %p' (and archive_mode = on) in the " +
         "server's configuration, then reload (archive_mode needs a restart); see docs/commands/archive-push.md";
}

const repo::Passphrase& SetupCheck::passphrase() {
  if (!passphrase_ && !passphrase_error_) {
    try {
      passphrase_.emplace(repo::read_passphrase(config_.key));
    } catch (const Error& e) {
      passphrase_error_.emplace(e);
    }
  }
  if (passphrase_error_) throw *passphrase_error_;
  return *passphrase_;
}

void SetupCheck::check_connection() {
  const auto start = Clock::now();
  CheckResult r{.name = "connection"};
  if (config_.cluster.conninfo.empty()) {
    r.status = CheckStatus::fail;
    r.message = "no [cluster] conninfo in " + config_.source + ": the server cannot be checked";
    r.hint = "add conninfo = \"host=... port=... user=... dbname=...\" to [cluster]";
    add(std::move(r));
    return;
  }
  try {
    conn_.emplace(config_.cluster.conninfo);
    server_version_num_ = conn_->server_version_num();
    for (const auto& row : conn_->query("SELECT name, setting FROM pg_settings").rows)
      if (row[0] && row[1]) settings_[*row[0]] = *row[1];
    r.message = "PostgreSQL " + pg::version_text(server_version_num_) + " at " + conn_->describe();
  } catch (const Error& e) {
    conn_.reset();
    r.status = CheckStatus::fail;
    r.message = e.what();
    r.hint = "check [cluster] conninfo in " + config_.source + " and that the server is running";
  }
  r.seconds = seconds_since(start);
  add(std::move(r));
  if (!conn_) return;

  CheckResult v{.name = "server_version"};
  const int major = pg::major_of(server_version_num_);
  if (pg::is_supported_major(major)) {
    v.message = "PostgreSQL " + std::to_string(major) + " is supported";
  } else {
    v.status = CheckStatus::fail;
    v.message = "PostgreSQL " + pg::version_text(server_version_num_) + " is not supported (pgdr supports " +
                pg::supported_range_text() + ")";
    v.hint = "run a supported major, or a pgdr that supports this one";
  }
  add(std::move(v));
}

void SetupCheck::check_repositories() {
  if (config_.repos.empty()) {
    add({.name = "repositories", .status = CheckStatus::fail, .message = "no [[repo]] configured in " + config_.source,
         .hint = "add a [[repo]] section and run pgdr init"});
    return;
  }
  for (const auto& rc : config_.repos) {
    throw_if_interrupted();
    check_repository(rc);
  }
}

// Reachable (pgdr.repo reads), writable (a probe object created and removed) and unlocked (the
// configured passphrase source opens a key slot): what archive-push and backup need of it.
void SetupCheck::check_repository(const RepoConfig& rc) {
  const auto start = Clock::now();
  CheckResult r{.name = "repo '" + rc.name + "'"};
  std::unique_ptr<storage::Storage> store;
  std::string step = "reach it";
  try {
    store = storage::open_storage(rc);
    repo::Repository::read_settings(*store, rc.name);
    step = "write to it";
    const std::string probe = std::string(repo::kProbesDir) + "/" + to_hex(io::random_bytes(8));
    const std::string text = "pgdr check probe\n";
    if (!store->create_exclusive(probe, as_bytes(text)))
      throw Error(ErrorKind::io, "probe object " + probe + " already exists");
    store->remove(probe);
    if (store->stat(probe)) throw Error(ErrorKind::io, "probe object " + probe + " is still there after its removal");
    step = "unlock its key";
    const repo::Passphrase& pass = passphrase();
    const std::string description = store->describe();
    auto opened = repo::Repository::open(storage::open_storage(rc), rc.name, pass.view(), pass.source);
    r.message = description + ": readable, writable, the passphrase from " + pass.source + " opens key slot " +
                opened.key_slot();
    reachable_.emplace_back(rc.name, std::move(store));
  } catch (const Error& e) {
    r.status = CheckStatus::fail;
    r.message = "unable to " + step + ": " + e.what();
    if (step == "reach it")
      r.hint = e.hint().empty() ? "check the [[repo]] section '" + rc.name + "' and run pgdr init if it was never created"
                                : e.hint();
    else if (step == "write to it")
      r.hint = "the repository must be writable by the user running pgdr and by the server's user (archive_command)";
    else
      r.hint = e.hint().empty() ? "check [key] in " + config_.source + " and pgdr key" : e.hint();
    // A repository that answers reads can still be watched for the forced segment.
    if (step != "reach it" && store) reachable_.emplace_back(rc.name, std::move(store));
  }
  r.seconds = seconds_since(start);
  add(std::move(r));
}

void SetupCheck::check_server_programs() {
  const auto start = Clock::now();
  CheckResult r{.name = "server_programs"};
  int major = 0;
  try {
    major = conn_ ? pg::major_of(server_version_num_) : pg::data_directory_major(config_.cluster.pgdata);
  } catch (const Error& e) {
    r.status = CheckStatus::warn;
    r.message = std::string("the cluster's major is unknown (no connection, and ") + e.what() + ")";
    r.hint = "fix the connection first";
    add(std::move(r));
    return;
  }
  try {
    const pg::ServerPrograms programs = pg::find_server_programs(major, config_.cluster.pg_bindir);
    r.message = "initdb, pg_ctl and postgres of PostgreSQL " + std::to_string(major) + " in " + programs.bindir;
  } catch (const Error& e) {
    r.status = CheckStatus::fail;
    r.message = std::string(e.what()) + ": drills and restore tests cannot start a cluster";
    r.hint = e.hint().empty() ? "install the server package of PostgreSQL " + std::to_string(major) +
                                    " or set [cluster] pg_bindir"
                              : e.hint();
  }
  r.seconds = seconds_since(start);
  add(std::move(r));
}

}  // namespace pgdr::check
