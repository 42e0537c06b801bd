#include "stream/stream_config.h"

#include "core/config_section.h"

namespace pgdr {

const ConfigSection<StreamConfig>& stream_section() {
  using S = StreamConfig;
  const auto above_zero = [](const char* key) {
    return at_least(std::chrono::milliseconds(1), std::string("[stream] ") + key + " must be longer than zero");
  };
  static const auto section = ConfigSection<S>("stream")
      .text("conninfo", &S::conninfo)
      .text("slot", &S::slot)
      .text("application_name", &S::application_name)
      .duration("status_interval", &S::status_interval, above_zero("status_interval"))
      .duration("flush_interval", &S::flush_interval, above_zero("flush_interval"))
      .duration("retry_max", &S::retry_max, above_zero("retry_max"));
  return section;
}

}  // namespace pgdr
