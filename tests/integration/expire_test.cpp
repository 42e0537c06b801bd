// pgdr expire against a real cluster: twenty real backups with fabricated start times spread over
// 90 days (the PGDR_TEST_NOW clock hook), an expire that keeps exactly what the policy says, every
// kept snapshot restoring to the content it had, recovery from the oldest kept snapshot through the
// archive to the latest commit, and a smaller repository. And an expire started while a backup
// runs: it waits, keeps the new snapshot, and the backup survives.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/time_format.h"
#include "expire_fixture.h"
#include "s3_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

TEST_F(ExpireTest, KeepsExactlyThePolicyOverNinetyDaysAndEveryKeptSnapshotRestores) {
  // Repacking off: this test accounts for whole objects (the next test repacks).
  write_config(
      "[retention]\nhourly = 3\ndaily = 4\nweekly = 3\nmonthly = 3\nyearly = 0\nmin_age = \"1h\"\nlock_wait = \"30s\"\n"
      "repack_threshold = 0\n");
  pgdr_ok({"init"});
  create_schedule_tables();
  // Day, hour, minute after Monday 2026-01-05 00:00 UTC.
  const std::vector<std::tuple<int, int, int>> schedule = {
      {0, 10, 0},  {10, 10, 0}, {20, 10, 0}, {31, 10, 0}, {40, 10, 0}, {50, 10, 0}, {59, 10, 0},
      {66, 10, 0}, {73, 10, 0}, {80, 10, 0}, {84, 10, 0}, {85, 10, 0}, {86, 10, 0}, {87, 10, 0},
      {88, 10, 0}, {88, 20, 0}, {89, 9, 0},  {89, 10, 0}, {89, 10, 30}, {89, 11, 30}};
  const SystemTime day0 = *parse_iso8601("2026-01-05T00:00:00Z");
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < schedule.size(); ++i) {
    auto [d, h, m] = schedule[i];
    SystemTime t = day0 + std::chrono::hours(24 * d + h) + std::chrono::minutes(m);
    std::string id = step_and_backup_at(i, t);
    ASSERT_EQ(id.substr(0, 16), compact_utc(t).substr(0, 15) + ".") << id;  // the id carries the fabricated time
    ids.push_back(id);
  }
  cluster_->psql("UPDATE counter SET v = 100");
  archive_now();

  // The policy, worked out by hand for "now" = 2026-04-04 12:00 UTC (day 89, a Saturday):
  // hourly: #19 (11:30), #18 (10:30; #17 is older in the same hour), #16 (09:00);
  // daily: #19 (04-04), #15 (04-03 20:00; not #14), #13 (04-02), #12 (04-01);
  // weekly (Monday-Sunday): #19 (week of 03-30), #9 (03-26), #8 (03-19);
  // monthly: #19 (April), #11 (03-31), #5 (02-24); min_age 1h: #19 only (#18 is 1h30m old).
  const std::set<std::size_t> expected = {5, 8, 9, 11, 12, 13, 15, 16, 18, 19};
  const std::string now = "2026-04-04T12:00:00Z";

  const std::uint64_t before_bytes = repo_bytes();
  const std::size_t before_wal = count_files("wal");
  const std::size_t before_packs = count_files("packs");

  // A dry run decides the same and removes nothing.
  auto dry = pgdr({"expire", "--dry-run", "--json"}, {"PGDR_TEST_NOW=" + now});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  auto dry_json = nlohmann::json::parse(dry.out)["repositories"][0];
  EXPECT_TRUE(dry_json["dry_run"].get<bool>());
  EXPECT_EQ(repo_bytes(), before_bytes);

  // The text report of a dry run: one line per snapshot with the rules that keep it.
  auto dry_text = pgdr({"expire", "--dry-run"}, {"PGDR_TEST_NOW=" + now});
  ASSERT_EQ(dry_text.exit_code, 0) << dry_text.err;
  EXPECT_NE(dry_text.out.find("repository 'local' (dry run): 10 snapshots to keep, 10 to remove\n"), std::string::npos)
      << dry_text.out;
  EXPECT_NE(dry_text.out.find("  remove " + ids[0] + " "), std::string::npos) << dry_text.out;
  EXPECT_NE(dry_text.out.find(ids[5] + " "), std::string::npos);
  EXPECT_NE(dry_text.out.find(" monthly 3 of 3\n"), std::string::npos) << dry_text.out;
  EXPECT_NE(dry_text.out.find("  would free "), std::string::npos) << dry_text.out;
  EXPECT_EQ(repo_bytes(), before_bytes);

  auto r = pgdr({"expire", "--json"}, {"PGDR_TEST_NOW=" + now});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(r.out)["repositories"][0];
  ASSERT_EQ(report["snapshots"].size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& s = report["snapshots"][i];
    EXPECT_EQ(s["id"], ids[i]);
    EXPECT_EQ(s["keep"].get<bool>(), expected.count(i) == 1) << "snapshot #" << i << " " << s.dump();
    EXPECT_EQ(dry_json["snapshots"][i]["keep"], s["keep"]);
  }
  EXPECT_EQ(report["snapshots"][19]["reasons"],
            nlohmann::json({"newest", "younger than 1h", "hourly 1 of 3", "daily 1 of 4", "weekly 1 of 3",
                            "monthly 1 of 3"}));
  EXPECT_EQ(report["snapshots"][5]["reasons"], nlohmann::json({"monthly 3 of 3"}));
  EXPECT_EQ(report["bytes_removed"], dry_json["bytes_removed"]);
  EXPECT_TRUE(report["repack"]["packs"].empty());
  EXPECT_EQ(report["removed"]["packs"].size(), dry_json["removed"]["packs"].size());

  // The repository lists exactly the kept snapshots and is smaller by what expire says it freed.
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0];
  std::vector<std::string> listed, want;
  for (const auto& s : info["snapshots"]) listed.push_back(s["id"]);
  for (std::size_t i : expected) want.push_back(ids[i]);
  EXPECT_EQ(listed, want);
  const std::uint64_t after_bytes = repo_bytes();
  EXPECT_LT(after_bytes, before_bytes);
  EXPECT_EQ(static_cast<std::int64_t>(before_bytes - after_bytes), report["bytes_freed"].get<std::int64_t>());
  EXPECT_GT(report["removed"]["packs"].size(), 0u);
  EXPECT_EQ(count_files("packs"), before_packs - report["removed"]["packs"].size());
  EXPECT_GT(report["removed"]["wal"].size(), 0u);
  EXPECT_GT(report["removed"]["wal_summaries"].size(), 0u);
  EXPECT_EQ(count_files("wal"),
            before_wal - report["removed"]["wal"].size() - report["removed"]["wal_summaries"].size());
  EXPECT_EQ(count_files("snapshots"), 2 * expected.size());  // no manifest left without its info
  std::cout << "repository " << before_bytes << " -> " << after_bytes << " bytes, packs " << before_packs << " -> "
            << count_files("packs") << ", WAL objects " << before_wal << " -> " << count_files("wal") << "\n";

  // Every kept snapshot restores to what it held; the oldest also recovers through the archive to
  // the latest commit, so no WAL it needs was removed.
  for (std::size_t i : expected)
    EXPECT_EQ(restored_state(ids[i], false), state_after_step(i)) << ids[i];
  EXPECT_EQ(restored_state(ids[5], true), "100:6000");

  // The audit log records the real expire (not the dry run): each snapshot it removed, before the
  // removal (so verify can tell an expire from a deletion), then what the run did.
  auto audit = nlohmann::json::parse(pgdr_ok({"audit", "--json"}));
  std::vector<nlohmann::json> expires;
  std::set<std::string> recorded_removed, removed;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (!expected.count(i)) removed.insert(ids[i]);
  for (const auto& entry : audit["entries"]) {
    if (entry["command"] != "expire") continue;
    const std::string what = entry["what"];
    if (what.starts_with("snapshot ")) {
      EXPECT_TRUE(expires.empty()) << "a removal recorded after the run's summary: " << entry.dump();
      recorded_removed.insert(what.substr(9));
    } else {
      expires.push_back(entry);
    }
  }
  EXPECT_EQ(recorded_removed, removed);
  ASSERT_EQ(expires.size(), 1u) << audit.dump();
  EXPECT_EQ(expires[0]["result"], "OK");
  EXPECT_EQ(expires[0]["what"], "repository local");
  EXPECT_EQ(expires[0]["details"], "kept 10 of 20 snapshots, removed 10 snapshots, " +
                                       std::to_string(report["removed"]["packs"].size()) + " packs, " +
                                       std::to_string(report["removed"]["wal"].size()) +
                                       " WAL files, repacked 0 packs into 0, freed " +
                                       std::to_string(report["bytes_freed"].get<std::int64_t>()) + " bytes");

  // A second expire finds nothing more to remove.
  auto again = pgdr({"expire", "--json"}, {"PGDR_TEST_NOW=" + now});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto again_json = nlohmann::json::parse(again.out)["repositories"][0];
  EXPECT_EQ(again_json["bytes_freed"], 0);
}

TEST_F(ExpireTest, ExpireStartedDuringABackupWaitsAndTheBackupSurvives) {
  write_config("[retention]\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\nmin_age = \"1h\"\nlock_wait = \"2m\"\n");
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE counter (v int); INSERT INTO counter VALUES (0); CREATE TABLE data (i int, t text);");
  std::vector<std::string> old;
  for (int i = 1; i <= 3; ++i) {
    cluster_->psql("UPDATE counter SET v = " + std::to_string(i) + "; INSERT INTO data SELECT g, md5(g::text) FROM generate_series(1, 300) g");
    old.push_back(backup_at("2026-10-0" + std::to_string(i) + "T08:00:00Z"));
  }
  // A bigger table makes the backup run long enough to start expire while it holds the lock.
  cluster_->psql("UPDATE counter SET v = 42; INSERT INTO data SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 100000) g; CHECKPOINT");
  const std::string lock = repo_dir_ + "/locks/writer";
  PgdrResult backup_result, expire_result;
  std::thread b([&] { backup_result = pgdr({"backup"}); });
  bool seen = false;
  for (int i = 0; i < 30000 && !seen; ++i) {
    seen = fs::exists(lock);
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(seen) << "the backup never took the lock";
  std::thread e([&] { expire_result = pgdr({"expire", "--json"}); });
  b.join();
  e.join();
  ASSERT_EQ(backup_result.exit_code, 0) << backup_result.err;
  ASSERT_EQ(expire_result.exit_code, 0) << expire_result.err;
  std::string id = backup_result.out.substr(0, backup_result.out.find('\n'));

  // Expire ran after the backup finished: it saw the new snapshot and kept it, as the newest.
  auto report = nlohmann::json::parse(expire_result.out)["repositories"][0];
  ASSERT_EQ(report["snapshots"].size(), 4u) << report.dump();
  EXPECT_EQ(report["snapshots"][3]["id"], id);
  EXPECT_TRUE(report["snapshots"][3]["keep"].get<bool>());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(report["snapshots"][i]["id"], old[i]);
    EXPECT_FALSE(report["snapshots"][i]["keep"].get<bool>());
  }
  EXPECT_EQ(restored_state(id, false), "42:100900");
}

// Repacking on a real cluster: the first snapshot's packs hold the whole cluster; the second
// rewrites nine tenths of the big table and reuses the rest where it lies. Once the first goes,
// its packs are mostly garbage: expire copies what the second needs, keeps the old packs for the
// grace period (a restore meanwhile works), removes them after it, and the repository ends
// smaller than whole-pack removal alone could make it. Later backups build on the rewritten
// manifest, and verify --full checks every new object. One backup worker: with two, each fills a
// pack of its own, and when the one holding the big table also took nothing the second snapshot
// keeps, that pack goes whole and the other stays mostly live: nothing to repack, correctly, but
// not what this test is about (it failed that way about one run in five on a loaded machine).
TEST_F(ExpireTest, RepackingReclaimsGarbageInsidePacksAndEverySnapshotStillRestores) {
  write_config(
      "[retention]\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\nmin_age = \"1h\"\n"
      "repack_threshold = 20\nrepack_grace = \"1h\"\n[catalog]\npath = \"" +
      work_->file("catalog.db") + "\"\n");
  {
    std::string text = read_whole(config_);
    text.replace(text.find("process_max = 2"), 15, "process_max = 1");
    std::ofstream(config_) << text;
  }
  pgdr_ok({"init"});
  cluster_->psql(
      "CREATE TABLE counter (v int); INSERT INTO counter VALUES (1); "
      "CREATE TABLE big (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off); "
      "INSERT INTO big SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 150000) g; "
      "VACUUM FREEZE big; CHECKPOINT");
  // The untouched tenth must keep its bytes between the snapshots, so every page must be frozen
  // before the first: a transaction of autovacuum's on a loaded machine can hold the horizon back,
  // leave tuples unfrozen and let the next scan set hint bits, which changes every page.
  cluster_->psql("ALTER SYSTEM SET autovacuum = off; SELECT pg_reload_conf(); CREATE EXTENSION pg_visibility");
  for (int attempt = 0;; ++attempt) {
    cluster_->psql("VACUUM FREEZE big; CHECKPOINT");
    if (cluster_->psql("SELECT all_frozen = (SELECT relpages FROM pg_class WHERE relname = 'big') "
                       "FROM pg_visibility_map_summary('big')") == "t")
      break;
    ASSERT_LT(attempt, 50) << "big never became all-frozen";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto state_of = [](PgCluster& c) {
    return c.psql("SELECT (SELECT v FROM counter) || ':' || (SELECT md5(string_agg(pad, ',' ORDER BY id)) FROM big)");
  };
  auto restored = [&](const std::string& id) {
    std::string dir = work_->file("restore-" + id);
    fs::remove_all(dir);
    auto r = pgdr({"restore", "--target-dir", dir, "--snapshot", id, "--immediate", "--target-action", "promote"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return "<restore failed: " + r.err + ">";
    PgCluster c(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(c);
    std::string state = state_of(c);
    c.stop();
    fs::remove_all(dir);
    return state;
  };
  backup_at("2026-10-01T08:00:00Z");
  cluster_->psql("UPDATE counter SET v = 2; UPDATE big SET pad = md5(pad) WHERE id > 15000; VACUUM big; CHECKPOINT");
  const std::string second_state = state_of(*cluster_);
  const std::string second = backup_at("2026-10-02T08:00:00Z");
  archive_now();

  const std::string now = "2026-10-02T12:00:00Z";
  auto dry = pgdr({"expire", "--dry-run", "--json"}, {"PGDR_TEST_NOW=" + now});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  auto dry_report = nlohmann::json::parse(dry.out)["repositories"][0];
  ASSERT_GT(dry_report["repack"]["packs"].size(), 0u) << dry_report.dump();
  std::uint64_t garbage = 0;
  for (const auto& p : dry_report["repack"]["packs"]) {
    EXPECT_LT(p["live_bytes"].get<std::uint64_t>(), p["size_bytes"].get<std::uint64_t>() * 8 / 10) << p.dump();
    garbage += p["size_bytes"].get<std::uint64_t>() - p["live_bytes"].get<std::uint64_t>();
  }

  // A verify now marks every object verified in the catalog.
  auto checked = [&](const std::string& name) {
    auto v = pgdr({"verify", "--no-alerts", "--report", work_->file(name)});
    std::ifstream in(work_->file(name));
    nlohmann::json j;
    in >> j;
    for (const auto& c : j["checks"])
      if (c["name"] == "checksums") return c["details"]["objects_checked"].get<std::uint64_t>();
    ADD_FAILURE() << "no checksums check: " << v.out << v.err;
    return std::uint64_t{0};
  };
  EXPECT_GT(checked("verify-before.json"), 0u);

  const std::uint64_t before = repo_bytes();
  auto r = pgdr({"expire", "--json"}, {"PGDR_TEST_NOW=" + now});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(r.out)["repositories"][0];
  const auto& repack = report["repack"];
  EXPECT_EQ(repack["packs"], dry_report["repack"]["packs"]);
  EXPECT_GT(repack["written"].size(), 0u);
  EXPECT_EQ(repack["manifests_rewritten"], nlohmann::json::array({second}));
  EXPECT_EQ(repack["retired_waiting"], repack["packs"].size());
  EXPECT_TRUE(report["warnings"].empty()) << report.dump();
  EXPECT_EQ(static_cast<std::int64_t>(before - repo_bytes()), report["bytes_freed"].get<std::int64_t>());
  std::uint64_t copied = 0;
  for (const auto& w : repack["written"]) copied += w["size_bytes"].get<std::uint64_t>();
  // The next incremental verify reads the new packs and the rewritten manifest, nothing else: the
  // manifest's name was verified before, its content is new.
  EXPECT_EQ(checked("verify-after.json"), repack["written"].size() + 1);
  // Within the grace period the old packs are still there, and a restore works from the copies.
  for (const auto& p : repack["packs"])
    EXPECT_TRUE(fs::exists(repo_dir_ + "/" + p["object"].get<std::string>())) << p.dump();
  EXPECT_EQ(count_files("retired"), repack["packs"].size());
  auto retired_info = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["retired_packs"];
  EXPECT_EQ(retired_info["count"], repack["packs"].size());
  std::uint64_t retired_bytes = 0;
  for (const auto& p : repack["packs"]) retired_bytes += p["size_bytes"].get<std::uint64_t>();
  EXPECT_EQ(retired_info["bytes"], retired_bytes);
  EXPECT_EQ(retired_info["oldest_retired_at"], "2026-10-02T12:00:00.000Z");
  EXPECT_NE(pgdr_ok({"info"}).find("  retired packs: " + std::to_string(repack["packs"].size()) + " ("),
            std::string::npos);
  EXPECT_EQ(restored(second), second_state);

  // After it, the next expire removes them and their markers; nothing else is left to do.
  auto later = pgdr({"expire", "--json"}, {"PGDR_TEST_NOW=2026-10-02T13:00:01Z"});
  ASSERT_EQ(later.exit_code, 0) << later.err;
  auto later_report = nlohmann::json::parse(later.out)["repositories"][0];
  std::set<std::string> removed, retired;
  for (const auto& p : later_report["removed"]["packs"]) removed.insert(p["object"]);
  for (const auto& p : repack["packs"]) retired.insert(p["object"]);
  EXPECT_EQ(removed, retired);
  EXPECT_EQ(later_report["removed"]["retired_markers"].size(), retired.size());
  EXPECT_EQ(count_files("retired"), 0u);
  EXPECT_EQ(nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["retired_packs"]["count"], 0);
  EXPECT_EQ(pgdr_ok({"info"}).find("retired packs"), std::string::npos);
  EXPECT_TRUE(later_report["repack"]["packs"].empty());
  // What repacking reclaimed on top of whole-pack removal: the old packs less their copies.
  const std::int64_t reclaimed = later_report["bytes_freed"].get<std::int64_t>() - static_cast<std::int64_t>(copied);
  EXPECT_GT(reclaimed, 0);
  for (const auto& p : repack["packs"])
    std::cout << "repacked " << p["object"].get<std::string>() << ": " << p["size_bytes"] << " bytes, "
              << p["live_bytes"] << " live\n";
  std::cout << "repacked " << retired.size() << " packs holding " << garbage << " bytes of garbage into "
            << repack["written"].size() << " packs of " << copied << " bytes; repository " << before << " -> "
            << repo_bytes() << " bytes\n";
  EXPECT_LT(repo_bytes() + garbage / 2, before);
  EXPECT_EQ(restored(second), second_state);

  // A backup after the repack reuses blocks where the rewritten manifest put them.
  cluster_->psql("UPDATE counter SET v = 3");
  const std::string third_state = state_of(*cluster_);
  const std::string third = backup_at("2026-10-03T08:00:00Z");
  auto third_info = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"];
  ASSERT_EQ(third_info.size(), 2u);
  EXPECT_GT(third_info[1]["reused_blocks"].get<std::uint64_t>(), third_info[1]["new_blocks"].get<std::uint64_t>());
  EXPECT_EQ(restored(third), third_state);
  auto v = pgdr({"verify", "--full", "--no-alerts"});
  EXPECT_NE(v.out.find("PASS checksums"), std::string::npos) << v.out << v.err;
}

// The same removal through the S3 driver: listing, stat and remove against a real S3 server.
class S3ExpireTest : public S3PgdrTest {};

TEST_F(S3ExpireTest, ExpireInAnS3RepositoryKeepsTheNewestRepacksAndItRecoversToLatest) {
  // Repacking without grace: the kept snapshot's manifest is rewritten in the bucket. Most of
  // table big changes after the first snapshot, so the first snapshot's packs become mostly
  // garbage while the last snapshot still uses the pages that did not change.
  write_config("[retention]\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\nmin_age = \"1h\"\n"
               "repack_threshold = 20\nrepack_grace = \"0s\"\n");
  pgdr_ok({"init"});
  cluster_->psql(
      "CREATE TABLE counter (v int); INSERT INTO counter VALUES (0); CREATE TABLE data (i int, t text); "
      "CREATE TABLE big (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off); "
      "INSERT INTO big SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 60000) g; "
      "VACUUM FREEZE big; CHECKPOINT");
  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    if (i == 2) cluster_->psql("UPDATE big SET pad = md5(pad) WHERE id > 6000; VACUUM big; CHECKPOINT");
    cluster_->psql("UPDATE counter SET v = " + std::to_string(i) +
                   "; INSERT INTO data SELECT g, md5(g::text) FROM generate_series(1, 300) g");
    archive_now(*cluster_);
    auto r = pgdr({"backup"}, {"PGDR_TEST_NOW=2026-10-0" + std::to_string(i) + "T08:00:00Z"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ids.push_back(r.out.substr(0, r.out.find('\n')));
  }
  cluster_->psql("UPDATE counter SET v = 7");
  archive_now(*cluster_);

  // Removals that go one object a time leave DELETE lines naming repository objects in the log.
  auto object_deletes = [&] {
    s3_->wait_for_log();
    return s3_->requests_logged("DELETE", "/snapshots/") + s3_->requests_logged("DELETE", "/packs/") +
           s3_->requests_logged("DELETE", "/wal/");
  };
  const std::size_t deletes_before = object_deletes();
  // Counted as answered 200: s3rver may answer a DeleteObjects with a 500 that the retry cures (it
  // races with itself removing the directories it emptied).
  const std::size_t batches_before = s3_->requests_logged("POST", "?delete", "200");
  auto r = pgdr({"expire", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(r.out)["repositories"][0];
  ASSERT_EQ(report["snapshots"].size(), 3u);
  EXPECT_FALSE(report["snapshots"][0]["keep"].get<bool>());
  EXPECT_FALSE(report["snapshots"][1]["keep"].get<bool>());
  EXPECT_TRUE(report["snapshots"][2]["keep"].get<bool>());
  EXPECT_GT(report["removed"]["packs"].size(), 0u);
  EXPECT_GT(report["removed"]["wal"].size(), 0u);
  EXPECT_GT(report["bytes_freed"].get<std::int64_t>(), 0);
  // Packs the kept snapshot uses in part were copied and the old ones removed with their markers.
  const auto& repack = report["repack"];
  ASSERT_GT(repack["packs"].size(), 0u) << report.dump();
  EXPECT_GT(repack["written"].size(), 0u);
  EXPECT_EQ(repack["manifests_rewritten"], nlohmann::json::array({ids[2]}));
  EXPECT_EQ(report["removed"]["retired_markers"].size(), repack["packs"].size());
  std::set<std::string> removed_packs;
  for (const auto& p : report["removed"]["packs"]) removed_packs.insert(p["object"]);
  for (const auto& p : repack["packs"]) EXPECT_TRUE(removed_packs.count(p["object"])) << p.dump();
  // One DeleteObjects request per step (infos, manifests, packs, markers, WAL), none per object.
  const std::size_t removed = report["removed"]["snapshot_objects"].size() + report["removed"]["packs"].size() +
                              report["removed"]["wal"].size();
  EXPECT_EQ(report["removed"]["snapshot_objects"].size(), 4u);
  EXPECT_GE(removed, 8u);
  EXPECT_EQ(object_deletes(), deletes_before);  // waits for the log
  EXPECT_EQ(s3_->requests_logged("POST", "?delete", "200") - batches_before, 5u) << "for " << removed << " objects";

  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0];
  ASSERT_EQ(info["snapshots"].size(), 1u);
  EXPECT_EQ(info["snapshots"][0]["id"], ids[2]);
  // Nothing more to remove: every object the report named is gone from the bucket.
  auto again = pgdr({"expire", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["repositories"][0]["bytes_freed"], 0);

  // The kept snapshot recovers through the archive to the latest commit.
  std::string dir = work_->file("restored");
  pgdr_ok({"restore", "--target-dir", dir, "--snapshot", ids[2]});
  PgCluster restored(PgCluster::Adopt{dir}, server_options());
  wait_recovered(restored);
  EXPECT_EQ(restored.psql("SELECT (SELECT v FROM counter) || ':' || (SELECT count(*) FROM data)"), "7:900");
  restored.stop();

  // Every object of the repacked repository checks out, new packs and rewritten manifest included.
  auto v = pgdr({"verify", "--full", "--no-alerts"});
  EXPECT_NE(v.out.find("PASS checksums"), std::string::npos) << v.out << v.err;
}

}  // namespace
}  // namespace pgdr::test
