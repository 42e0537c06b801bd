// pgdr measure on PostgreSQL 18 finds the newest archived commit with no pg_waldump anywhere: not in
// [cluster] pg_bindir (the 18 servers ship none) and not on PATH, from which every directory holding
// one is removed. It reads the archived WAL itself.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <sstream>

#include "core/time_format.h"
#include "drill_fixture.h"
#include "matrix/majors.h"

namespace pgdr::test {
namespace {

// $PATH without the directories that hold program.
std::string path_without(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  std::string out;
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || ::access((dir + "/" + program).c_str(), F_OK) == 0) continue;
    out += (out.empty() ? "" : ":") + dir;
  }
  return out;
}

class Measure : public OnMajor<DrillTest> {
 protected:
  // The commit time of each transaction, to compare with what measure finds in the archive.
  std::vector<std::string> extra_settings() override { return {"track_commit_timestamp = on"}; }
};

TEST_P(Measure, NewestArchivedCommitWithoutPgWaldump) {
  ASSERT_NE(::access((PgCluster::server_bindir(major()) + "/pg_waldump").c_str(), F_OK), 0)
      << "this test wants a pg_bindir without pg_waldump";
  make_shop_data();
  backup();
  cluster_->psql("CREATE TABLE last_sale (id int); INSERT INTO last_sale VALUES (1)");
  const SystemTime committed = *parse_iso8601(cluster_->psql(
      "SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
      "FROM last_sale"));
  archive_now(*cluster_);
  const auto archived = std::chrono::system_clock::now();

  const std::string report = work_->file("measure.json");
  auto m = pgdr({"measure", "--report", report}, {"PATH=" + path_without("pg_waldump")});
  ASSERT_TRUE(std::filesystem::exists(report)) << "measure wrote no report (exit " << m.exit_code << "): " << m.err;
  nlohmann::json j = read_json(report);
  nlohmann::json rpo;
  for (const auto& c : j["checks"])
    if (c["name"] == "rpo") rpo = c;
  ASSERT_TRUE(rpo["details"]["newest_archived_commit"].is_string()) << m.err << "\n" << rpo.dump(2);
  const auto found = parse_iso8601(rpo["details"]["newest_archived_commit"].get<std::string>());
  ASSERT_TRUE(found.has_value()) << rpo.dump(2);
  // Our commit, or a later one of the server's own (autovacuum), archived before the switch returned.
  EXPECT_GE(*found, committed - std::chrono::milliseconds(1)) << rpo.dump(2);
  EXPECT_LE(*found, archived) << rpo.dump(2);
  ASSERT_TRUE(j["rpo_seconds"].is_number()) << j.dump(2);
  EXPECT_EQ(rpo["status"], "PASS") << rpo.dump(2);
}

INSTANTIATE_TEST_SUITE_P(Newest, Measure, testing::Values(18), major_name);

}  // namespace
}  // namespace pgdr::test
