#include "restore/recovery_settings.h"

#include <array>
#include <sstream>

#include "core/error.h"
#include "core/file.h"
#include "core/time_format.h"
#include "pg/lsn.h"
#include "pg/setting_literal.h"

namespace pgdr::restore {

namespace {

// "2026-11-25 23:30:15+00", "2026-11-25 23:30:15.123+00:00", "2026-11-25T23:30:15Z": the forms
// pgdr needs to compare a target with snapshot times. PostgreSQL itself parses the value.
std::optional<SystemTime> parse_target_time(const std::string& text) {
  std::string t = text;
  if (t.size() > 10 && t[10] == ' ') t[10] = 'T';
  if (t.ends_with("+00:00")) t = t.substr(0, t.size() - 6) + "Z";
  else if (t.ends_with("+00")) t = t.substr(0, t.size() - 3) + "Z";
  else if (t.ends_with(" UTC")) t = t.substr(0, t.size() - 4) + "Z";
  return parse_iso8601(t);
}

bool setting_we_own(const std::string& line) {
  std::string key;
  for (char c : line) {
    if (c == ' ' || c == '\t') {
      if (key.empty()) continue;
      break;
    }
    if (c == '=') break;
    key += c;
  }
  return key == "restore_command" || key.starts_with("recovery_target") || key == "primary_conninfo" ||
         key == "primary_slot_name";
}

}  // namespace

void check_target(const RecoveryTarget& target) {
  switch (target.kind) {
    case TargetKind::time:
      if (!parse_target_time(target.value))
        throw Error(ErrorKind::usage, "invalid --time '" + target.value + "'",
                    "write the time in UTC as 'YYYY-MM-DD HH:MM:SS[.fff]+00'");
      break;
    case TargetKind::lsn:
      if (!pg::parse_lsn(target.value)) throw Error(ErrorKind::usage, "invalid --lsn '" + target.value + "' (e.g. 0/1A2B3C4)");
      break;
    case TargetKind::xid:
      if (target.value.empty() || target.value.find_first_not_of("0123456789") != std::string::npos)
        throw Error(ErrorKind::usage, "invalid --xid '" + target.value + "' (a transaction id is a number)");
      break;
    case TargetKind::name:
      if (target.value.empty()) throw Error(ErrorKind::usage, "--name needs a restore point name");
      break;
    default: break;
  }
  if (target.action != "promote" && target.action != "pause" && target.action != "shutdown")
    throw Error(ErrorKind::usage, "invalid --target-action '" + target.action + "' (promote, pause or shutdown)");
}

bool snapshot_serves(const repo::SnapshotInfo& s, const RecoveryTarget& target) {
  if (target.kind == TargetKind::time) {
    auto t = parse_target_time(target.value);
    auto stop = parse_iso8601(s.stop_time);
    return t && stop && *stop <= *t;
  }
  if (target.kind == TargetKind::lsn) {
    auto l = pg::parse_lsn(target.value);
    auto stop = pg::parse_lsn(s.stop_lsn);
    return l && stop && *stop <= *l;
  }
  return true;
}

void write_recovery_settings(const std::string& data_dir, const RecoveryTarget& target, const std::string& snapshot_id) {
  std::string path = data_dir + "/postgresql.auto.conf";
  std::string kept;
  if (auto old = read_file(path)) {
    std::istringstream in(std::string(old->begin(), old->end()));
    std::string line;
    while (std::getline(in, line))
      if (!setting_we_own(line)) kept += line + "\n";
  }
  kept += "# recovery settings written by pgdr restore of snapshot " + snapshot_id + " at " + now_iso8601() + "\n";
  if (target.archive_get) kept += "restore_command = " + pg::setting_literal(target.archive_get->render()) + "\n";
  switch (target.kind) {
    case TargetKind::latest: break;
    case TargetKind::immediate: kept += "recovery_target = 'immediate'\n"; break;
    case TargetKind::time: kept += "recovery_target_time = " + pg::setting_literal(target.value) + "\n"; break;
    case TargetKind::lsn: kept += "recovery_target_lsn = " + pg::setting_literal(target.value) + "\n"; break;
    case TargetKind::xid: kept += "recovery_target_xid = " + pg::setting_literal(target.value) + "\n"; break;
    case TargetKind::name: kept += "recovery_target_name = " + pg::setting_literal(target.value) + "\n"; break;
  }
  if (target.kind != TargetKind::latest) kept += "recovery_target_action = " + pg::setting_literal(target.action) + "\n";
  kept += "recovery_target_timeline = 'latest'\n";
  if (target.standby && !target.primary_conninfo.empty())
    kept += "primary_conninfo = " + pg::setting_literal(target.primary_conninfo) + "\n";
  write_file_durably(path, as_bytes(kept), 0600);
  std::string signal = data_dir + (target.standby ? "/standby.signal" : "/recovery.signal");
  write_file_durably(signal, {}, 0600);
}

}  // namespace pgdr::restore
