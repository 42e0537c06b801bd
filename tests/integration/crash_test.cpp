// kill -9 of pgdr during a backup, at several points: the repository stays readable, earlier
// snapshots restore, the next backup works and reuses the blocks the killed one already stored.
// And two writers at once: the second is refused by the repository lock.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

class CrashTest : public PgdrTest {
 protected:
  // Random text compresses about 2:1, so packs fill and commit while the backup runs.
  void add_table(const std::string& name, int rows) {
    cluster_->psql("CREATE TABLE " + name + " (id int, v text); INSERT INTO " + name +
                   " SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) || "
                   "md5(random()::text) FROM generate_series(1, " +
                   std::to_string(rows) + ") g; CHECKPOINT;");
  }
  nlohmann::json snapshots() {
    return nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"];
  }
  std::size_t pack_count() {
    std::size_t n = 0;
    if (fs::exists(repo_dir_ + "/packs"))
      for (const auto& e : fs::recursive_directory_iterator(repo_dir_ + "/packs")) n += e.is_regular_file();
    return n;
  }
  // Starts a backup and sends it SIGKILL as soon as ready() holds; returns its result.
  PgdrResult backup_killed_when(const std::function<bool()>& ready) {
    std::string pidfile = work_->file("backup.pid");
    fs::remove(pidfile);
    PgdrResult result;
    std::thread t([&] {
      result = run_as_server_user(
          {"sh", "-c", "echo $$ > " + pidfile + "; exec " + pgdr_path() + " --config " + config_ + " backup --process-max 1"},
          {}, {std::string("PGDR_PASSPHRASE=") + kPassphrase});
    });
    for (int i = 0; i < 3000; ++i) {
      if (ready()) {
        std::ifstream in(pidfile);
        long pid = 0;
        if (in >> pid && pid > 0) kill(static_cast<pid_t>(pid), SIGKILL);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    t.join();
    return result;
  }
};

TEST_F(CrashTest, KillNineDuringBackupLeavesRepositoryUsableAndBlocksReused) {
  add_table("base_data", 100000);
  pgdr_ok({"init"});
  std::string first = backup();
  auto first_print = fingerprint(*cluster_);

  add_table("new_data", 1000000);  // ~250 MiB that no snapshot holds yet
  std::uint64_t new_data_blocks = std::stoull(cluster_->psql("SELECT pg_relation_size('new_data') / 8192"));
  // Killed: holding the lock before any block is stored, after its first pack, after three more.
  std::string lock = repo_dir_ + "/locks/writer";
  std::size_t packs = pack_count();
  std::vector<std::function<bool()>> points = {
      [&] { return fs::exists(lock); },
      [&] { return pack_count() >= packs + 1; },
      [&] { return pack_count() >= packs + 4; },
  };
  for (const auto& point : points) {
    auto r = backup_killed_when(point);
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
    auto snaps = snapshots();  // the repository still reads, and shows only complete snapshots
    ASSERT_EQ(snaps.size(), 1u);
    EXPECT_EQ(snaps[0]["id"], first);
  }

  // The next backup breaks the dead holder's lock and reuses what the killed runs stored.
  std::string next = backup();
  auto snaps = snapshots();
  auto last = snaps.back();
  EXPECT_EQ(last["id"], next);
  EXPECT_LT(last["new_blocks"].get<std::uint64_t>(), new_data_blocks)
      << "blocks stored by the killed backups were stored again";
  auto second_print = fingerprint(*cluster_);

  // Both snapshots restore to what the source held when they were taken.
  for (const auto& [id, expected] : {std::pair{first, first_print}, std::pair{next, second_print}}) {
    std::string target = work_->file("restored-" + id);
    pgdr_ok({"restore", "--snapshot", id, "--target-dir", target});
    PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
    wait_recovered(restored);
    EXPECT_EQ(fingerprint(restored), expected) << id;
  }
}

TEST_F(CrashTest, SecondWriterIsRefusedWhileABackupRuns) {
  add_table("bulk", 600000);
  pgdr_ok({"init"});
  PgdrResult slow;
  std::thread first([&] { slow = pgdr({"backup", "--process-max", "1"}); });
  PgdrResult second;
  // Retry until the first backup holds the lock (it takes it after connecting).
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    second = pgdr({"backup"});
    if (second.exit_code != 0) break;
  }
  first.join();
  EXPECT_EQ(slow.exit_code, 0) << slow.err;
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("pgdr: repository 'local' is locked by backup (pid "), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("HINT: "), std::string::npos);
}

TEST_F(CrashTest, KeyChangeKeepsDataAndRetiresTheOldPassphrase) {
  pgdr_ok({"init"});
  std::string id = backup();
  auto r = pgdr({"key", "change", "--new-passphrase-env", "NEW_PASS"}, {"NEW_PASS=a brand new passphrase 42"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("a brand new passphrase"), std::string::npos);
  auto old = pgdr({"info"});
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_NE(old.err.find("wrong passphrase"), std::string::npos) << old.err;
  auto fresh = pgdr({"restore", "--target-dir", work_->file("restored")}, {"PGDR_PASSPHRASE=a brand new passphrase 42"});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_NE(fresh.err.find("restored snapshot " + id), std::string::npos) << fresh.err;
}

}  // namespace
}  // namespace pgdr::test
