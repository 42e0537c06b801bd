// The fixture of the WAL archive tests: a source cluster whose archive_command is pgdr archive-push
// into the test's repository, the WAL objects stored there, and batches of rows committed one
// transaction each, with the xid, LSN and time that a point-in-time restore can target. Shared by the
// 15 tests and the version matrix.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "pgdr_fixture.h"

namespace pgdr::test {

class WalArchiveTest : public PgdrTest {
 protected:
  PgClusterOptions cluster_options() override { return archiving({}); }

  std::vector<std::string> wal_objects() {
    std::vector<std::string> out;
    if (!std::filesystem::exists(repo_dir_ + "/wal")) return out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo_dir_ + "/wal"))
      if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  void create_batches_table() { cluster_->psql("CREATE TABLE batches (batch int, at timestamptz DEFAULT clock_timestamp())"); }

  // One committed transaction of 100 rows of batch b: its xid, the LSN after its commit and the time
  // after it, then a pause of over a second so that a time target falls between two batches.
  struct Batch {
    std::string xid;
    std::string lsn_after;
    std::string time_after;
  };
  Batch commit_batch(int b) {
    Batch out;
    out.xid = cluster_->psql("BEGIN; INSERT INTO batches (batch) SELECT " + std::to_string(b) +
                             " FROM generate_series(1, 100); SELECT txid_current(); COMMIT;");
    out.lsn_after = cluster_->psql("SELECT pg_current_wal_lsn()");
    out.time_after =
        cluster_->psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '+00'");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    return out;
  }
  // The batches a restored copy holds, "1,2".
  static constexpr const char* kBatchesPresent = "SELECT string_agg(DISTINCT batch::text, ',') FROM batches";
};


}  // namespace pgdr::test
