// Snapshots taken on a streaming standby of a primary that archives with pgdr archive-push: under
// a write load on the primary, then at a quiesced point whose content the restored snapshot must
// equal (amcheck clean); the standby is then promoted and snapshots continue on timeline 2. Nothing
// of the backup runs on the primary. The info of a standby snapshot says where it was taken.
#include <nlohmann/json.hpp>
#include <filesystem>
#include <thread>

#include "standby_fixture.h"

namespace pgdr::test {
namespace {

class StandbyBackupTest : public StandbyFixture {};

nlohmann::json snapshots(const std::string& info_json) {
  return nlohmann::json::parse(info_json)["repositories"][0]["snapshots"];
}

TEST_F(StandbyBackupTest, SnapshotsUnderLoadRestoreToThePrimarysContentAndContinueAfterPromotion) {
  cluster_->psql("CREATE EXTENSION amcheck");
  auto init = pgbench(*cluster_, {"-i", "-s", "2"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  pgdr_ok({"init"});
  auto standby = standby_by_basebackup("standby");
  configure_cluster(*standby);
  std::string primary_sysid = cluster_->psql("SELECT system_identifier FROM pg_control_system()");

  // Two snapshots while pgbench writes on the primary: the first reads everything, the second
  // reads by the change map of the archived WAL (segments not archived yet from the standby's pg_wal).
  std::thread load([&] { pgbench(*cluster_, {"-c", "2", "-T", "8"}); });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::string first = backup();
  std::string second = backup();
  load.join();
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());

  // Quiesced: a checkpoint the standby replays makes its next restartpoint, where the snapshot
  // starts, come after every change.
  cluster_->psql("CREATE TABLE marker AS SELECT 'quiesced' AS note; CHECKPOINT");
  wait_replayed(*standby);
  auto primary_content = fingerprint(*cluster_);
  std::string quiet = backup();

  auto snaps = snapshots(pgdr_ok({"info", "--json"}));
  ASSERT_EQ(snaps.size(), 3u);
  for (const auto& s : snaps) {
    EXPECT_EQ(s["taken_on"]["role"], "standby") << s.dump();
    EXPECT_EQ(s["taken_on"]["primary_system_identifier"], primary_sysid);
    EXPECT_EQ(s["taken_on"]["replay_lsn"], s["stop_lsn"]);
  }
  EXPECT_EQ(snaps[0]["changes"]["source"], "full-read");
  EXPECT_EQ(snaps[1]["changes"]["source"], "wal-archive") << snaps[1]["changes"].dump();

  // A standby's stop LSN is its replay position, often the end of all the WAL there is while the
  // primary is idle; --immediate stops before the record after it, so one must exist somewhere.
  cluster_->psql("SELECT pg_logical_emit_message(false, 'pgdr-test', 'after the snapshots')");
  archive_now(*cluster_);
  {
    // The snapshot read by a change map under load is consistent on its own.
    auto restored = restore_immediate(second, "restored-under-load");
    auto amcheck = pg_amcheck(*restored);
    EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
  }
  {
    auto restored = restore_immediate(quiet, "restored-quiet");
    EXPECT_EQ(fingerprint(*restored), primary_content);
    auto amcheck = pg_amcheck(*restored);
    EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
    EXPECT_FALSE(std::filesystem::exists(restored->data_dir() + "/standby.signal"));
  }

  // Promoted, the standby is a primary on timeline 2 and its snapshots still restore.
  cluster_->stop();
  standby->psql("SELECT pg_promote()");
  wait_recovered(*standby);
  standby->psql("INSERT INTO marker VALUES ('promoted')");
  std::string promoted = backup();
  auto after = snapshots(pgdr_ok({"info", "--json"})).back();
  EXPECT_EQ(after["id"], promoted);
  EXPECT_EQ(after["taken_on"]["role"], "primary");
  EXPECT_EQ(after["timeline"], 2);
  EXPECT_EQ(after["taken_on"]["replay_lsn"], "");
  auto restored = restore_immediate(promoted, "restored-promoted");
  EXPECT_EQ(restored->psql("SELECT string_agg(note, ',' ORDER BY note) FROM marker"), "promoted,quiesced");
  auto amcheck = pg_amcheck(*restored);
  EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
}

TEST_F(StandbyBackupTest, InfoSaysStandbySystemIdentifierAndReplayLsn) {
  cluster_->psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  pgdr_ok({"init"});
  auto standby = standby_by_basebackup("standby");
  configure_cluster(*standby);
  wait_replayed(*standby);
  std::string id = backup();
  std::string replayed = standby->psql("SELECT pg_last_wal_replay_lsn()");
  std::string sysid = cluster_->psql("SELECT system_identifier FROM pg_control_system()");

  auto s = snapshots(pgdr_ok({"info", "--json"})).at(0);
  EXPECT_EQ(s["id"], id);
  EXPECT_EQ(s["system_identifier"], sysid);
  EXPECT_EQ(s["taken_on"]["role"], "standby");
  EXPECT_EQ(s["taken_on"]["primary_system_identifier"], sysid);
  const std::string replay_lsn = s["taken_on"]["replay_lsn"];
  EXPECT_EQ(replay_lsn, s["stop_lsn"]);
  EXPECT_EQ(standby->psql("SELECT '" + replay_lsn + "'::pg_lsn <= '" + replayed + "'::pg_lsn"), "t");

  std::string text = pgdr_ok({"info"});
  EXPECT_NE(text.find("    taken on a standby of system " + sysid + ", replayed up to " + replay_lsn + "\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace pgdr::test
