// The PostgreSQL majors of the version matrix, and the adapter that runs a fixture of the 15 tests
// on one of them: the source cluster, [cluster] pg_bindir in the configuration, and every copy the
// test restores and starts (PgCluster::Adopt reads PG_VERSION) use that major's server programs.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "harness/pg_cluster.h"

namespace pgdr::test {

// 14, 16, 17 and 18: 15 is what every other integration test runs on. PGDR_MATRIX_MAJORS ("15,17")
// picks others, to try a scenario on 15 or on one major alone.
inline std::vector<int> matrix_majors() {
  const char* env = std::getenv("PGDR_MATRIX_MAJORS");
  if (env == nullptr || *env == '\0') return {14, 16, 17, 18};
  std::vector<int> out;
  std::istringstream in(env);
  for (std::string m; std::getline(in, m, ',');) out.push_back(std::stoi(m));
  return out;
}
inline const std::vector<int> kMatrixMajors = matrix_majors();

// "pg17": the last part of a matrix test's name (Majors/RoundTrip.UnderLoad/pg17).
inline std::string major_name(const testing::TestParamInfo<int>& info) { return "pg" + std::to_string(info.param); }

template <typename Fixture>
class OnMajor : public Fixture, public testing::WithParamInterface<int> {
 protected:
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = Fixture::cluster_options();
    o.major = GetParam();
    return o;
  }
  int major() const { return GetParam(); }
};

}  // namespace pgdr::test
