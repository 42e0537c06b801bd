// The configuration file (config/config.cpp): TOML that operators write by hand and tools generate.
// Beyond not crashing, what parse_config accepts must lie within the bounds it checks, so that no
// value (a NaN, a negative duration) slips past a range check into the commands.
#include <cmath>

#include "config/config.h"
#include "core/syslog_socket.h"
#include "fuzz_support.h"

using namespace pgdr;

namespace {

void require_within(double v, double lo, double hi, const char* what) {
  fuzz::require(std::isfinite(v) && v >= lo && v <= hi, std::string(what) + " within its range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_errors({ErrorKind::config}, [&] {
    Config c = parse_config(text, "fuzz.toml");
    require_within(c.verify.coverage_warn, 0, 100, "[verify] coverage_warn");
    require_within(c.verify.coverage_fail, 0, c.verify.coverage_warn, "[verify] coverage_fail");
    require_within(c.verify.anomaly_threshold, 1, 1000, "[verify] anomaly_threshold");
    require_within(c.retention.repack_threshold, 0, 100, "[retention] repack_threshold");
    fuzz::require(c.key.command_timeout.count() > 0, "[key] command_timeout above zero");
    fuzz::require(c.retention.min_age.count() >= 0 && c.retention.lock_wait.count() >= 0, "retention waits not negative");
    for (const auto& r : c.repos) fuzz::require(r.is_s3() != !r.path.empty(), "a repository is local or S3");
    fuzz::require(c.log.file.empty() || c.log.file.front() == '/', "[log] file an absolute path");
    fuzz::require(c.log.syslog_facility.empty() || syslog_facility_code(c.log.syslog_facility).has_value(),
                  "[log] syslog a known facility");
  });
  return 0;
}
