#include "backup/backup_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<BackupConfig>& backup_section() {
  using B = BackupConfig;
  const auto not_negative = [](const char* key) {
    return at_least(std::chrono::milliseconds(0), std::string("[backup] ") + key + " must not be negative");
  };
  static const auto section = ConfigSection<B>("backup")
      .integer("process_max", &B::process_max, 1, 64)
      .choice("compress", &B::compress, {"zstd", "lz4", "none"}, "[backup] compress must be \"zstd\", \"lz4\" or \"none\"")
      .integer("compress_level", &B::compress_level, -7, 19)
      .integer("compress_harder_below", &B::compress_harder_below, 0, 100)
      .integer("checksum_page_warn_max", &B::checksum_page_warn_max, 0, 1'000'000)
      .duration("full_read_every", &B::full_read_every, not_negative("full_read_every"))
      .duration("summaries_wait", &B::summaries_wait, not_negative("summaries_wait"));
  return section;
}

}  // namespace pgdr
