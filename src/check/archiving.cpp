// The end-to-end archiving check of SetupCheck: a forced WAL switch, then the wait until the
// switched segment is durable in every repository. Only the server's archiver runs
// archive_command here, so what is proved is its real environment (user, PATH, passphrase source),
// which no check run from a shell can stand in for.
#include <cstdio>
#include <thread>

#include "check/setup_check.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "repo/wal_archive.h"

namespace pgdr::check {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPollInterval{200};

// Writes a small WAL record first: a server exactly at the start of a segment would not switch, and
// pg_switch_wal would return the start of the segment in use. The record is a non-transactional
// logical message, which touches no table and leaves nothing behind but WAL.
constexpr const char* kSwitchSql =
    "SELECT pg_walfile_name(CASE WHEN (l - '0/0'::pg_lsn) % pg_size_bytes(current_setting('wal_segment_size')) = 0 "
    "THEN l - 1 ELSE l END) FROM (SELECT pg_logical_emit_message(false, 'pgdr check', 'switch') AS m, "
    "pg_switch_wal() AS l) s";

}  // namespace

void SetupCheck::check_archiving() {
  const auto start = Clock::now();
  CheckResult r{.name = "archiving"};
  std::string segment;
  try {
    if (conn_->query("SELECT pg_is_in_recovery()").scalar() == "t") {
      r.status = CheckStatus::warn;
      r.message = "the server is a standby: a WAL switch cannot be forced here";
      r.hint = "run pgdr check against the primary";
      add(std::move(r));
      return;
    }
    segment = conn_->query(kSwitchSql).scalar();
  } catch (const Error& e) {
    r.status = CheckStatus::fail;
    r.message = std::string("unable to force a WAL switch: ") + e.what();
    r.hint = "pgdr check needs a superuser, or EXECUTE on pg_switch_wal and pg_logical_emit_message";
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    add(std::move(r));
    return;
  }

  const std::string object = repo::wal_object(segment);
  // Indexes into reachable_ of the repositories that do not hold the segment yet.
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < reachable_.size(); ++i) missing.push_back(i);
  std::string stat_error;  // the last error of a repository that stopped answering, for the message
  const auto deadline = start + options_.archive_timeout;
  for (;;) {
    std::erase_if(missing, [&](std::size_t i) {
      try {
        return reachable_[i].second->stat(object).has_value();
      } catch (const Error& e) {
        stat_error = e.what();
        return false;
      }
    });
    if (missing.empty() || Clock::now() >= deadline) break;
    throw_if_interrupted();
    std::this_thread::sleep_for(kPollInterval);
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (missing.empty()) {
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", r.seconds);
    r.message = "forced WAL switch: segment " + segment + " archived in every repository within " + took + " s";
    add(std::move(r));
    return;
  }
  r.status = CheckStatus::fail;
  std::string names;
  for (std::size_t i : missing) names += (names.empty() ? "'" : ", '") + reachable_[i].first + "'";
  r.message = "forced WAL switch: segment " + segment + " not in repository " + names + " after " +
              format_duration(options_.archive_timeout) + "; " + archiver_status(segment) +
              (stat_error.empty() ? "" : "; last error looking for it: " + stat_error);
  r.hint = "the server log has archive-push's own message; archive_command runs as the server's user, in its "
           "environment: it needs the passphrase source of [key] there (see docs/commands/archive-push.md)";
  add(std::move(r));
}

// What pg_stat_archiver says about segment, for the failure message.
std::string SetupCheck::archiver_status(const std::string& segment) {
  try {
    // Failing now: the newest failure is later than the newest success. The archiver archives in
    // order, so the failing file may be older than the forced segment: it blocks everything after.
    auto row = conn_->query(
                        "SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, ''), "
                        "coalesce(to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
                        "failed_count, coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) "
                        "FROM pg_stat_archiver")
                   .rows.at(0);
    const std::string archived = row[0].value_or(""), failed = row[1].value_or("");
    if (row[4].value_or("f") == "t")
      return "pg_stat_archiver: archiving " + failed + " failed at " + row[2].value_or("") + " (" +
             row[3].value_or("0") + " failures since the statistics were reset)";
    if (!archived.empty() && archived >= segment)
      return "pg_stat_archiver: the server archived " + archived +
             " successfully, so archive_command stores WAL somewhere else than these repositories";
    return "pg_stat_archiver: last archived " + (archived.empty() ? std::string("none") : archived) +
           ", no failure recorded since (the archiver may be behind)";
  } catch (const Error& e) {
    return std::string("pg_stat_archiver unreadable: ") + e.what();
  }
}

}  // namespace pgdr::check
