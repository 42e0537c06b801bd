#include "verify/restore_test.h"

namespace pgdr::verify {

CheckResult run_restore_test(const repo::Repository&, const std::vector<repo::SnapshotInfo>&, const RestoreTestOptions&) {
  CheckResult r;
  r.name = "restore_test";
  r.status = Status::fail;
  r.summary = "restore test not available in this build";
  r.findings.push_back({"critical", "restore test not available in this build"});
  return r;
}

}  // namespace pgdr::verify
