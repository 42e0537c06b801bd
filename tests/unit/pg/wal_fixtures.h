// The real WAL segments of tests/unit/pg/data/wal (written by make_fixtures.sh and
// make_change_fixtures.sh): for each major, a few consecutive 1 MiB segments, decompressed, and
// the expected.txt written beside them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace pgdr::pg::testing {

struct WalSegmentFile {
  std::string name;
  Bytes bytes;
};

struct WalFixture {
  int major = 0;
  std::vector<WalSegmentFile> segments;  // in order
  std::map<std::string, std::string> expected;
  std::string dir;  // where the files are, for what a test reads beside them
  std::uint64_t expected_u64(const std::string& key) const;
};

// Throws std::runtime_error when the fixture is missing or unreadable.
const WalFixture& wal_fixture(int major);
// The change map's fixture of a major (MAJOR/changes, written by make_change_fixtures.sh).
const WalFixture& wal_change_fixture(int major);

}  // namespace pgdr::pg::testing
