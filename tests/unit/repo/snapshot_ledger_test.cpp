#include "repo/snapshot_ledger.h"

#include <gtest/gtest.h>

#include "repo/format.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

class SnapshotLedgerTest : public test::OpenRepoTestBase {
 protected:
  void backup_recorded(const std::string& id, const std::string& result = "OK") {
    AuditEntry e;
    e.command = "backup";
    e.what = ledger_what(id);
    e.result = result;
    append_audit(repo(), e);
  }
  void other_entry(const std::string& command, const std::string& what, const std::string& result) {
    AuditEntry e;
    e.command = command;
    e.what = what;
    e.result = result;
    append_audit(repo(), e);
  }
  // An info object under the snapshot's name: only its presence matters here.
  void info_object(const std::string& id) { put_raw(snapshot_info_object(id), as_bytes(std::string("damaged"))); }

  std::vector<std::string> vanished(const std::set<std::string>& present) {
    std::vector<std::string> ids;
    for (const auto& v : vanished_snapshots(repo(), read_audit(repo()), present)) ids.push_back(v.id);
    return ids;
  }
};

TEST_F(SnapshotLedgerTest, RecordsBackupsThatSucceededAndForgetsExpiredOnes) {
  backup_recorded("A");
  backup_recorded("B", "WARN");
  other_entry("backup", "cluster shop", "ERROR");   // a failed backup names no snapshot
  other_entry("restore", "snapshot A to /srv/x", "OK");
  backup_recorded("C");
  record_expired(repo(), {"A"}, "out of retention");
  std::vector<std::string> ids;
  for (const auto& r : recorded_snapshots(read_audit(repo()).entries)) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"B", "C"}));
}

TEST_F(SnapshotLedgerTest, ASnapshotDeletedWithoutAnExpireIsNamed) {
  backup_recorded("A");
  backup_recorded("B");
  backup_recorded("C");
  record_expired(repo(), {"A"}, "out of retention");
  EXPECT_EQ(vanished({"B", "C"}), std::vector<std::string>{});
  EXPECT_EQ(vanished({"B"}), std::vector<std::string>{"C"});
  auto gone = vanished_snapshots(repo(), read_audit(repo()), {"B"});
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].seq, 3u);
  EXPECT_FALSE(gone[0].time.empty());
}

TEST_F(SnapshotLedgerTest, AnExpireRecordedAfterTheLogWasReadIsNoDeletion) {
  backup_recorded("A");
  backup_recorded("B");
  const AuditLog before = read_audit(repo());
  record_expired(repo(), {"A"}, "out of retention");  // an expire running meanwhile
  std::vector<std::string> ids;
  for (const auto& v : vanished_snapshots(repo(), before, {"B"})) ids.push_back(v.id);
  EXPECT_EQ(ids, std::vector<std::string>{});
}

TEST_F(SnapshotLedgerTest, ADamagedInfoIsNotAVanishedSnapshot) {
  backup_recorded("A");
  info_object("A");
  EXPECT_EQ(vanished({}), std::vector<std::string>{});
  EXPECT_FALSE(newest_recorded_if_missing(repo(), {}));
}

TEST_F(SnapshotLedgerTest, NewestRecordedSnapshotMissingIsFoundFromTheTail) {
  EXPECT_FALSE(newest_recorded_if_missing(repo(), {}));
  backup_recorded("A");
  backup_recorded("B");
  other_entry("verify", "repository main", "PASS");
  EXPECT_FALSE(newest_recorded_if_missing(repo(), {"A", "B"}));
  auto gone = newest_recorded_if_missing(repo(), {"A"});
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->id, "B");
  // Expired by pgdr: the newest recorded one still there is A.
  record_expired(repo(), {"B"}, "out of retention");
  EXPECT_FALSE(newest_recorded_if_missing(repo(), {"A"}));
}

}  // namespace
}  // namespace pgdr::repo
