// pgdr drill: a whole disaster recovery, rehearsed and measured, in five timed phases.
//   1 prepare    a fresh DR directory and port (leftovers of earlier drills removed); the disaster is
//                declared: the source's newest commit is captured (see source_capture.h) and the WAL
//                archived by then is the only WAL the recovery may use;
//   2 restore    the snapshot is restored into the DR directory;
//   3 measure    the copy is started, replays the WAL, is promoted and checked (each database
//                answers, accepts a write; [drill] app_check succeeds); RTO = declared -> checks
//                passed, RPO = source's newest commit - copy's newest replayed commit;
//   4 integrity  schema, rows and contents against the source at the same point, pg_amcheck;
//   5 rollback   the DR server stopped and its directory removed (unless kept), the source checked
//                healthy; also after a failure or an interrupt.
// The drill never writes to the source except the optional heartbeat row.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "drill/source_capture.h"
#include "repo/repository.h"
#include "restore/archive_get_call.h"
#include "restore/recovery_settings.h"

namespace pgdr::drill {

struct DrillOptions {
  std::string snapshot = "latest";
  restore::RecoveryTarget target;  // kind/value; action and archive_get are set by the drill
  // How the copy fetches WAL (binary, configuration, repository); the drill adds the limits of the
  // WAL archived at disaster time (archive-get refuses anything newer).
  restore::ArchiveGetCall archive_get;
  int process_max = 2;
  bool keep = false;
  // The source as captured by the caller before it was lost (the demo destroys its primary first).
  // When absent, the drill captures [cluster] conninfo itself, if it answers.
  std::optional<SourceCapture> captured_source;
  std::optional<SystemTime> declared_at;  // with captured_source: when the disaster happened
  std::chrono::milliseconds start_timeout{std::chrono::hours(2)};
  // Called at each phase start, for progress on the terminal.
  std::function<void(const std::string& phase)> on_phase;
};

// Runs the drill; the report is the JSON documented in docs/reports/drill.md. Never throws for a
// failed phase (the report says FAIL); throws Error(interrupted) after rolling back on a signal,
// and Error for what makes the drill impossible to start (configuration).
nlohmann::json run_drill(const Config& config, const repo::Repository& repo, const DrillOptions& options);

// The recommendations for a report (JSON as run_drill makes it): plain sentences.
std::vector<std::string> recommendations(const nlohmann::json& report);

}  // namespace pgdr::drill
