// A major upgrade under one [cluster] name and one repository, as pg_upgrade leaves it: a new system
// identifier, a new major, and WAL that goes on after the old cluster's last segment. The embedded
// servers ship no pg_upgrade, so the 17 cluster is initdb'd on its own and its WAL moved past the
// 15 cluster's before it archives. Snapshots of both; each restores to a data directory of its own
// major that starts with that major's servers, and verify --restore-test and drill pick them.
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>

#include "drill_fixture.h"

namespace pgdr::test {
namespace {

class Upgrade : public DrillTest {
 protected:
  static constexpr int kNewMajor = 17;

  // The 15 cluster stops; a 17 cluster takes its name, its repository and its archive_command.
  void upgrade() {
    // A fast shutdown archives what is ready (a drill's segment switch, say): the repository, not
    // pg_stat_archiver before it, knows the old cluster's last segment.
    cluster_->stop();
    const std::string last_old = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["wal_archive"]
                                                                                    ["timelines"][0]["last_segment"];
    PgClusterOptions o = with_passphrase({});
    o.major = kNewMajor;
    auto next = std::make_unique<PgCluster>(o);
    // Not archiving yet: switch segments until the current one follows the old cluster's last.
    for (int i = 0; i < 1000; ++i) {
      const std::string current = next->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
      if (current.substr(8) > last_old.substr(8)) break;
      next->psql("CREATE TABLE IF NOT EXISTS wal_filler (v int); INSERT INTO wal_filler VALUES (1); SELECT pg_switch_wal()");
    }
    next->psql("DROP TABLE wal_filler");
    next->append_config("archive_mode = on");
    next->append_config("archive_command = '" + pgdr_path() + " --config " + config_ + " archive-push %p'");
    next->restart();
    cluster_ = std::move(next);
    write_drill_config();
  }

  static std::string pg_version(const std::string& data_dir) {
    std::ifstream in(data_dir + "/PG_VERSION");
    std::string v;
    std::getline(in, v);
    return v;
  }

  // Restores a snapshot to the end of the archive and checks the copy: its PG_VERSION, the major of
  // the server that starts on it, and the rows of the era table.
  void expect_restores_as(const std::string& id, int major, const std::string& rows) {
    const std::string dir = work_->file("restore-" + id);
    pgdr_ok({"restore", "--target-dir", dir, "--snapshot", id});
    EXPECT_EQ(pg_version(dir), std::to_string(major));
    PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(restored);
    EXPECT_EQ(std::stoi(restored.psql("SHOW server_version_num")) / 10000, major);
    EXPECT_EQ(restored.psql("SELECT string_agg(major::text || ':' || n, ',') FROM (SELECT major, count(*) n FROM era "
                            "GROUP BY major ORDER BY major) s"),
              rows);
  }

  void expect_restore_test_passes_on(const std::string& id) {
    const std::string path = work_->file("verify-" + id + ".json");
    auto v = pgdr({"verify", "--restore-test", "--no-alerts", "--report", path});
    const nlohmann::json report = read_json(path);
    nlohmann::json check;
    for (const auto& c : report["checks"])
      if (c["name"] == "restore_test") check = c;
    EXPECT_EQ(check["status"], "PASS") << v.out << v.err << check.dump(2);
    EXPECT_EQ(check["details"]["snapshot"], id) << check.dump(2);
  }

  nlohmann::json drill(const std::vector<std::string>& args) {
    const std::string path = work_->file("drill-" + std::to_string(++drills_) + ".json");
    std::vector<std::string> argv = {"drill", "--report", path};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = pgdr(argv);
    nlohmann::json j = read_json(path);
    j["exit_code"] = r.exit_code;
    j["stderr"] = r.err;
    return j;
  }

  int drills_ = 0;
};

TEST_F(Upgrade, FifteenToSeventeenUnderOneClusterName) {
  cluster_->psql("CREATE TABLE era (major int, note text); INSERT INTO era SELECT 15, md5(g::text) FROM generate_series(1, 1000) g");
  const std::string old_id = backup();
  archive_now(*cluster_);
  expect_restore_test_passes_on(old_id);
  auto old_drill = drill({});
  EXPECT_EQ(old_drill["result"], "PASS") << old_drill.dump(2);

  ASSERT_NO_FATAL_FAILURE(upgrade());
  ASSERT_EQ(cluster_->major(), kNewMajor);
  cluster_->psql("CREATE TABLE era (major int, note text); INSERT INTO era SELECT 17, md5(g::text) FROM generate_series(1, 700) g");
  auto b = pgdr({"backup"});
  ASSERT_EQ(b.exit_code, 0) << "the snapshot of the upgraded cluster was refused: " << b.err;
  std::string new_id = b.out;
  while (!new_id.empty() && new_id.back() == '\n') new_id.pop_back();
  archive_now(*cluster_);

  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"];
  ASSERT_EQ(info.size(), 2u) << info.dump(2);
  EXPECT_EQ(info[0]["id"], old_id);
  EXPECT_EQ(info[0]["pg_version_num"].get<int>() / 10000, 15) << info.dump(2);
  EXPECT_EQ(info[0]["pg_major"], 15) << info.dump(2);
  EXPECT_EQ(info[1]["id"], new_id);
  EXPECT_EQ(info[1]["pg_version_num"].get<int>() / 10000, kNewMajor) << info.dump(2);
  EXPECT_EQ(info[1]["pg_major"], kNewMajor) << info.dump(2);
  EXPECT_NE(info[0]["system_identifier"], info[1]["system_identifier"]);

  expect_restores_as(old_id, 15, "15:1000");
  expect_restores_as(new_id, kNewMajor, "17:700");
  expect_restore_test_passes_on(new_id);
  auto new_drill = drill({});
  EXPECT_EQ(new_drill["result"], "PASS") << new_drill.dump(2);
  // The old snapshot, drilled with the configuration that now names 17's servers, starts with 15's.
  auto back = drill({"--snapshot", old_id});
  EXPECT_EQ(phase(back, "restore")["status"], "PASS") << back.dump(2);
  EXPECT_EQ(phase(back, "measure")["status"], "PASS") << back.dump(2);
}

}  // namespace
}  // namespace pgdr::test
