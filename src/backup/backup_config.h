// The [backup] section: how `pgdr backup` reads, compresses and checks (docs/commands/backup.md).
#pragma once

#include <chrono>
#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct BackupConfig {
  int process_max = 2;  // parallel file readers
  std::string compress = "zstd";
  int compress_level = 2;
  // Frames of data that compresses less than this to 1 are compressed at level 6; 0 never.
  int compress_harder_below = 5;
  int checksum_page_warn_max = 20;  // page checksum failures printed before summarising
  // A snapshot reads every byte (instead of only what a change map names) when the newest one that
  // did is this old; 0 never forces one.
  std::chrono::milliseconds full_read_every{std::chrono::hours(24 * 7)};
  // How long a snapshot waits for PostgreSQL 17+'s WAL summarizer to reach its start LSN.
  std::chrono::milliseconds summaries_wait{std::chrono::seconds(60)};
};

const ConfigSection<BackupConfig>& backup_section();

}  // namespace pgdr
