// The fixture of the expire tests: a source cluster archiving into the test's repository, backups
// at fabricated times (the PGDR_TEST_NOW clock hook), a schedule of known states, and restores
// that read the state back. Shared by the 15 tests and the version matrix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "pgdr_fixture.h"

namespace pgdr::test {

class ExpireTest : public PgdrTest {
 protected:
  PgClusterOptions cluster_options() override { return archiving({}); }

  // What the repository stores besides its audit log, to which every command (expire too) adds.
  std::uint64_t repo_bytes() {
    std::uint64_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo_dir_))
      if (e.is_regular_file() && !e.path().string().starts_with(repo_dir_ + "/audit/")) n += e.file_size();
    return n;
  }
  std::size_t count_files(const std::string& dir) {
    std::size_t n = 0;
    if (std::filesystem::exists(repo_dir_ + "/" + dir))
      for (const auto& e : std::filesystem::recursive_directory_iterator(repo_dir_ + "/" + dir)) n += e.is_regular_file();
    return n;
  }
  void archive_now() { PgdrTest::archive_now(*cluster_); }
  std::string backup_at(const std::string& iso) {
    auto r = pgdr({"backup"}, {"PGDR_TEST_NOW=" + iso});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }
  // The tables whose state restored_state reads, and churn, which every step rewrites.
  void create_schedule_tables() {
    cluster_->psql(
        "CREATE TABLE counter (v int); INSERT INTO counter VALUES (-1); CREATE TABLE data (i int, t text); "
        "CREATE TABLE churn (t text);");
  }
  // Step i of a schedule: counter i, 300 more rows, and a table rewritten (new blocks only this
  // snapshot holds); then a backup at time t. Its snapshot restores to state_after_step(i).
  std::string step_and_backup_at(std::size_t i, SystemTime t) {
    cluster_->psql("UPDATE counter SET v = " + std::to_string(i) +
                   "; INSERT INTO data SELECT g, md5(g::text) FROM generate_series(1, 300) g; TRUNCATE churn; "
                   "INSERT INTO churn SELECT md5(random()::text) || md5(random()::text) FROM generate_series(1, 3000);");
    return backup_at(iso8601(t));
  }
  static std::string state_after_step(std::size_t i) { return std::to_string(i) + ":" + std::to_string(300 * (i + 1)); }

  // Restores a snapshot to its end (or to the end of the archive) and returns "counter:rows".
  std::string restored_state(const std::string& id, bool to_latest) {
    std::string dir = work_->file("restore-" + id);
    std::vector<std::string> args = {"restore", "--target-dir", dir, "--snapshot", id};
    if (!to_latest) args.insert(args.end(), {"--immediate", "--target-action", "promote"});
    auto r = pgdr(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return "<restore failed: " + r.err + ">";
    PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(restored);
    std::string state = restored.psql("SELECT (SELECT v FROM counter) || ':' || (SELECT count(*) FROM data)");
    restored.stop();
    std::filesystem::remove_all(dir);
    return state;
  }
};

}  // namespace pgdr::test
