#include "restore/archive_get_call.h"

#include "core/shell.h"
#include "pg/lsn.h"

namespace pgdr::restore {

ArchiveGetCall ArchiveGetCall::of_this_pgdr(const std::string& config_path) {
  ArchiveGetCall call;
  call.binary = self_executable();
  call.config_path = absolute_config_path(config_path);
  return call;
}

std::string ArchiveGetCall::render() const {
  std::string cmd = pgdr_invocation(binary, config_path) + " archive-get";
  // archive-get's own default needs no option.
  if (wal_segment_bytes != 0 && wal_segment_bytes != pg::kDefaultWalSegmentBytes)
    cmd += " --wal-segment-size " + std::to_string(wal_segment_bytes);
  if (!repo.empty()) cmd += " --repo " + shell_quoted(repo);
  if (!until_segment.empty()) cmd += " --until " + shell_quoted(until_segment);
  if (!until_lsn.empty()) cmd += " --until-lsn " + shell_quoted(until_lsn);
  return cmd + " %f %p";
}

}  // namespace pgdr::restore
