// pgdr verify against real repositories written by real backups of a real server: a healthy one
// passes, and each kind of damage gives its status and names its culprit.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>

#include "catalog/catalog.h"
#include "verify_support.h"

extern char** environ;

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

class VerifyTest : public VerifyFixture {};

TEST_F(VerifyTest, HealthyRepositoryPassesIncrementallyAndRecordsTheRun) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE canary(id int primary key, note text); INSERT INTO canary VALUES (1, 'tweet')");
  std::string a = backup();
  cluster_->psql("INSERT INTO canary SELECT g, md5(g::text) FROM generate_series(2, 20000) g");
  std::string b = backup();
  archive_now();

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 0) << v.run.out << v.run.err;
  EXPECT_EQ(v.report["result"], "PASS") << v.report.dump(2);
  EXPECT_EQ(schema_errors(), "");
  for (const char* name : {"key", "coverage", "size_anomalies", "checksums", "wal_continuity"})
    EXPECT_EQ(v.check(name)["status"], "PASS") << name << ": " << v.check(name).dump(2);
  auto sums = v.check("checksums")["details"];
  EXPECT_GT(sums["packs_checked"].get<int>(), 0);
  EXPECT_EQ(sums["manifests_checked"], 2);
  EXPECT_GT(sums["wal_objects_checked"].get<int>(), 0);
  EXPECT_EQ(sums["files_digest_checked"], sums["files_reassembled"]);
  EXPECT_GT(sums["bytes_read"].get<double>(), 0);
  EXPECT_EQ(v.check("key")["details"]["source"], "$PGDR_PASSPHRASE");
  EXPECT_TRUE(has(v.run.out, "PASS checksums")) << v.run.out;

  // The second run reads nothing it verified before; --full reads it all again.
  auto again = verify();
  EXPECT_EQ(again.run.exit_code, 0) << again.run.out << again.run.err;
  EXPECT_EQ(again.check("checksums")["details"]["objects_checked"], 0);
  EXPECT_EQ(again.check("checksums")["details"]["objects_skipped_verified"], sums["objects_total"]);
  auto full = verify({"--full"});
  EXPECT_EQ(full.run.exit_code, 0);
  EXPECT_EQ(full.check("checksums")["details"]["objects_checked"], sums["objects_total"]);

  // A spot check reads a random share of what is due.
  auto sample = verify({"--full", "--sample", "50"});
  EXPECT_EQ(sample.run.exit_code, 0);
  auto sd = sample.check("checksums")["details"];
  int total = sums["objects_total"].get<int>();
  EXPECT_EQ(sd["objects_checked"], (total + 1) / 2) << sd.dump(2);
  EXPECT_EQ(sd["objects_not_sampled"], total - (total + 1) / 2);

  auto cat = catalog::Catalog::open(work_->file("catalog.db"));
  auto runs = cat.runs("verify", "test", 10);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].result, "PASS");
  EXPECT_EQ(nlohmann::json::parse(runs[0].report_json)["result"], "PASS");
}

TEST_F(VerifyTest, FlippedByteInAPackFailsNamingThePackAndTheSnapshotsItAffects) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 50000) g");
  std::string a = backup();
  std::string b = backup();  // refers to a's blocks where nothing changed
  archive_now();
  std::string pack = packs().front();
  flip_byte(pack, fs::file_size(pack) / 3);
  std::string object = pack.substr(repo_dir_.size() + 1);

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  EXPECT_EQ(v.report["result"], "FAIL");
  EXPECT_EQ(schema_errors(), "");
  auto c = v.check("checksums");
  EXPECT_EQ(c["status"], "FAIL");
  auto problems = c["details"]["problems"];
  ASSERT_EQ(problems.size(), 1u) << problems.dump(2);
  EXPECT_EQ(problems[0]["object"], object);
  EXPECT_TRUE(has(problems[0]["error"], "corrupt pack " + object)) << problems[0].dump();
  EXPECT_EQ(problems[0]["snapshots"], nlohmann::json::array({a, b})) << problems[0].dump();
  EXPECT_FALSE(problems[0]["files"].empty());
  EXPECT_TRUE(has(v.run.out, object)) << v.run.out;
  EXPECT_TRUE(has(v.run.out, "affects snapshots " + a + ", " + b)) << v.run.out;

  // Damage is never remembered as verified: the next incremental run finds it again.
  auto again = verify();
  EXPECT_EQ(again.run.exit_code, 2);
  EXPECT_EQ(again.check("checksums")["details"]["problems"][0]["object"], object);
}

TEST_F(VerifyTest, ObjectsProvenBeforeAreAuthenticatedAndADamagedOneIsStillFound) {
  // Every object falls due at every run; the catalog still remembers which were proven.
  write_verify_config("[verify]\nreverify_after = \"0s\"\n");
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 50000) g");
  std::string a = backup();
  archive_now();

  auto first = verify();
  ASSERT_EQ(first.run.exit_code, 0) << first.run.out << first.run.err;
  auto d1 = first.check("checksums")["details"];
  const int n = d1["packs_checked"].get<int>();
  ASSERT_GT(n, 0);
  EXPECT_EQ(d1["packs_decoded"], n);
  EXPECT_EQ(d1["packs_authenticated"], 0);
  const int wal = d1["wal_objects_checked"].get<int>();
  ASSERT_GT(wal, 0);
  EXPECT_EQ(d1["wal_objects_decoded"], wal);
  EXPECT_EQ(d1["wal_objects_authenticated"], 0);

  // The second run reads every pack and WAL object again but decodes none; every file still
  // reassembles.
  auto second = verify();
  ASSERT_EQ(second.run.exit_code, 0) << second.run.out << second.run.err;
  auto d2 = second.check("checksums")["details"];
  EXPECT_EQ(d2["packs_checked"], n);
  EXPECT_EQ(d2["packs_authenticated"], n);
  EXPECT_EQ(d2["packs_decoded"], 0);
  EXPECT_EQ(d2["wal_objects_authenticated"], wal);
  EXPECT_EQ(d2["wal_objects_decoded"], 0);
  EXPECT_EQ(d2["blocks_checked"], d1["blocks_checked"]);
  EXPECT_EQ(d2["files_digest_checked"], d1["files_digest_checked"]);
  EXPECT_EQ(d2["files_digest_checked"], d2["files_reassembled"]);
  EXPECT_TRUE(has(second.check("checksums")["summary"], std::to_string(n + wal) + " proven before and authenticated only"))
      << second.check("checksums").dump(2);
  EXPECT_EQ(second.check("wal_continuity")["status"], "PASS");

  // --full proves everything again.
  auto full = verify({"--full"});
  ASSERT_EQ(full.run.exit_code, 0);
  EXPECT_EQ(full.check("checksums")["details"]["packs_decoded"], n);
  EXPECT_EQ(full.check("checksums")["details"]["packs_authenticated"], 0);
  EXPECT_EQ(full.check("checksums")["details"]["wal_objects_decoded"], wal);

  // A byte flipped inside a frame of a pack proven before fails its authentication.
  std::string pack = packs().front();
  std::string object = pack.substr(repo_dir_.size() + 1);
  flip_byte(pack, fs::file_size(pack) / 3);
  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  auto c = v.check("checksums");
  EXPECT_EQ(c["details"]["packs_authenticated"], n);
  auto problems = c["details"]["problems"];
  ASSERT_EQ(problems.size(), 1u) << problems.dump(2);
  EXPECT_EQ(problems[0]["object"], object);
  EXPECT_TRUE(has(problems[0]["error"], "corrupt pack " + object)) << problems[0].dump();
  EXPECT_TRUE(has(problems[0]["error"], "authentication failed")) << problems[0].dump();
  EXPECT_EQ(problems[0]["snapshots"], nlohmann::json::array({a})) << problems[0].dump();

  // Damage is forgotten as verified: once mended, the pack is proven again, not trusted.
  flip_byte(pack, fs::file_size(pack) / 3);
  auto mended = verify();
  EXPECT_EQ(mended.run.exit_code, 0) << mended.run.out;
  EXPECT_EQ(mended.check("checksums")["details"]["packs_decoded"], 1);
  EXPECT_EQ(mended.check("checksums")["details"]["packs_authenticated"], n - 1);

  // The same for a WAL object: a byte flipped in its last frame, past the header that is read.
  std::string segment;
  for (const auto& e : fs::recursive_directory_iterator(repo_dir_ + "/wal"))
    if (e.is_regular_file() && e.path().filename().string().size() == 24) segment = e.path().string();
  ASSERT_FALSE(segment.empty());
  flip_byte(segment, fs::file_size(segment) - 20);
  auto w = verify();
  EXPECT_EQ(w.run.exit_code, 2) << w.run.out;
  auto wd = w.check("checksums")["details"];
  EXPECT_EQ(wd["wal_objects_authenticated"], wal);
  ASSERT_EQ(wd["problems"].size(), 1u) << wd.dump(2);
  EXPECT_EQ(wd["problems"][0]["object"], segment.substr(repo_dir_.size() + 1));
  EXPECT_TRUE(has(wd["problems"][0]["error"], "fails authentication")) << wd["problems"][0].dump();
}

TEST_F(VerifyTest, PackDeletedAfterAVerifyIsFoundByTheNextIncrementalRun) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 50000) g");
  std::string a = backup();
  std::string b = backup();
  archive_now();
  ASSERT_EQ(verify().run.exit_code, 0);
  std::string pack = packs().front();
  std::string object = pack.substr(repo_dir_.size() + 1);
  ASSERT_TRUE(fs::remove(pack));

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  auto c = v.check("checksums");
  EXPECT_EQ(c["details"]["objects_checked"], 0) << "everything left was verified before";
  auto problems = c["details"]["problems"];
  ASSERT_EQ(problems.size(), 1u) << problems.dump(2);
  EXPECT_EQ(problems[0]["object"], object);
  EXPECT_TRUE(has(problems[0]["error"], "missing pack " + object + " (snapshot " + a + " lists it")) << problems[0].dump();
  EXPECT_EQ(problems[0]["snapshots"], nlohmann::json::array({a, b})) << problems[0].dump();
}

TEST_F(VerifyTest, SnapshotDeletedBehindPgdrsBackFailsAndLatestRestoreWarns) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  std::string older = backup();
  cluster_->psql("INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
  std::string newest = backup();
  archive_now();
  auto healthy = verify();
  ASSERT_EQ(healthy.run.exit_code, 0) << healthy.run.out << healthy.run.err;
  EXPECT_EQ(healthy.check("audit")["status"], "PASS") << healthy.check("audit").dump(2);
  EXPECT_EQ(healthy.check("audit")["details"]["recorded_snapshots"], 2);

  // Someone with write access removes the newest snapshot: info first, as an expire would.
  ASSERT_TRUE(fs::remove(repo_dir_ + "/snapshots/" + newest + ".info"));
  ASSERT_TRUE(fs::remove(repo_dir_ + "/snapshots/" + newest + ".manifest"));

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  EXPECT_EQ(v.report["result"], "FAIL");
  EXPECT_EQ(schema_errors(), "");
  auto c = v.check("audit");
  EXPECT_EQ(c["status"], "FAIL") << c.dump(2);
  ASSERT_EQ(c["details"]["vanished_snapshots"].size(), 1u) << c.dump(2);
  EXPECT_EQ(c["details"]["vanished_snapshots"][0]["snapshot"], newest);
  EXPECT_TRUE(has(v.run.out, "snapshot vanished without an expire, first " + newest)) << v.run.out;

  // "latest" is the older snapshot now, and restore says why.
  const std::string target = work_->file("restored");
  PgdrResult r = pgdr({"restore", "--target-dir", target});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "the newest snapshot the audit log of")) << r.err;
  EXPECT_TRUE(has(r.err, newest + " (backup recorded at")) << r.err;
  EXPECT_TRUE(has(r.err, "is missing and no expire removed it")) << r.err;
  EXPECT_TRUE(has(r.err, older) || has(r.out, older)) << r.out << r.err;
}

TEST_F(VerifyTest, SnapshotsRemovedByExpireAreNotReportedAsVanished) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  backup();
  backup();
  std::string kept = backup();
  archive_now();
  write_verify_config("[retention]\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\nmin_age = \"0s\"\n");
  pgdr_ok({"expire"});
  auto v = verify();
  auto c = v.check("audit");
  EXPECT_EQ(nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"].size(), 1u);
  EXPECT_EQ(c["status"], "PASS") << c.dump(2) << v.run.err;
  EXPECT_EQ(c["details"]["recorded_snapshots"], 1) << c.dump(2);
  EXPECT_EQ(c["details"]["vanished_snapshots"].size(), 0u);
}

TEST_F(VerifyTest, UnreadablePackFailsNamingItInsteadOfAbortingTheRun) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 50000) g");
  std::string a = backup();
  archive_now();
  std::string pack = packs().front();
  std::string object = pack.substr(repo_dir_.size() + 1);
  ASSERT_EQ(::chmod(pack.c_str(), 0), 0);

  auto v = verify({"--full"});
  ::chmod(pack.c_str(), 0600);
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  EXPECT_EQ(v.report["result"], "FAIL") << v.run.err;
  EXPECT_EQ(schema_errors(), "");
  auto c = v.check("checksums");
  EXPECT_EQ(c["status"], "FAIL");
  auto problems = c["details"]["problems"];
  ASSERT_EQ(problems.size(), 1u) << problems.dump(2);
  EXPECT_EQ(problems[0]["object"], object);
  EXPECT_TRUE(has(problems[0]["error"], "unreadable: ")) << problems[0].dump();
  EXPECT_TRUE(has(problems[0]["error"], "Permission denied")) << problems[0].dump();
  EXPECT_EQ(problems[0]["snapshots"], nlohmann::json::array({a})) << problems[0].dump();
}

TEST_F(VerifyTest, DeletedWalSegmentFailsNamingTheGap) {
  pgdr_ok({"init"});
  backup();
  std::string missing;
  for (int i = 0; i < 3; ++i) {
    cluster_->psql("CREATE TABLE IF NOT EXISTS t(v int); INSERT INTO t SELECT generate_series(1, 1000)");
    std::string seg = cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
    if (i == 1) missing = seg;
    archive_now();
  }
  ASSERT_FALSE(missing.empty());
  std::string object = repo_dir_ + "/wal/" + missing.substr(0, 8) + "/" + missing;
  ASSERT_TRUE(fs::remove(object)) << object;

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  auto c = v.check("wal_continuity");
  EXPECT_EQ(c["status"], "FAIL") << c.dump(2);
  ASSERT_EQ(c["details"]["gaps"].size(), 1u) << c.dump(2);
  EXPECT_EQ(c["details"]["gaps"][0]["first_missing"], missing);
  EXPECT_EQ(c["details"]["gaps"][0]["last_missing"], missing);
  EXPECT_TRUE(has(v.run.out, "WAL gap on timeline 1: " + missing + " missing")) << v.run.out;
  EXPECT_EQ(v.check("checksums")["status"], "PASS");
}

TEST_F(VerifyTest, WrongPassphraseFailsTheKeyCheckWithoutPrintingASecret) {
  pgdr_ok({"init"});
  backup();
  const std::string wrong = "not-the-passphrase-5c1e";
  auto v = verify({}, {"PGDR_PASSPHRASE=" + wrong});
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  EXPECT_EQ(schema_errors(), "");
  auto key = v.check("key");
  EXPECT_EQ(key["status"], "FAIL");
  EXPECT_EQ(key["details"]["source"], "$PGDR_PASSPHRASE");
  EXPECT_TRUE(has(key["summary"], "the passphrase from $PGDR_PASSPHRASE does not unwrap the master key")) << key.dump();
  EXPECT_EQ(v.check("checksums")["status"], "SKIP");
  std::string everything = v.run.out + v.run.err + v.report.dump();
  EXPECT_FALSE(has(everything, wrong));
  EXPECT_FALSE(has(everything, kPassphrase));
}

TEST_F(VerifyTest, NoRepositoryCannotRun) {
  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 3) << v.run.out << v.run.err;
  EXPECT_TRUE(has(v.run.err, "pgdr: ")) << v.run.err;
  EXPECT_TRUE(v.report.is_null());
}

TEST_F(VerifyTest, MissingScheduledSnapshotWarnsWithTheCoverageFigure) {
  // Slots of 5 s: backups in slots 1, 2, 4 and 5, none in slot 3.
  write_verify_config("[verify]\nsnapshot_interval = \"5s\"\nwindow = \"60s\"\ncoverage_warn = 95\ncoverage_fail = 50\n");
  using namespace std::chrono;
  auto ms_now = [] { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); };
  // The repository records its creation to the second: create it just after a slot starts, so
  // that slot is the first one expected.
  long long slot = ms_now() / 5000 + 1;
  std::this_thread::sleep_for(milliseconds(slot * 5000 + 200 - ms_now()));
  pgdr_ok({"init"});
  std::string skipped_start;
  for (int i = 0; i < 5; ++i, ++slot) {
    if (i > 0) std::this_thread::sleep_for(milliseconds(slot * 5000 + 300 - ms_now()));
    if (i == 2) {
      skipped_start = iso8601(SystemTime(milliseconds(slot * 5000)));
      continue;
    }
    backup();
    ASSERT_LT(ms_now(), (slot + 1) * 5000) << "a backup took longer than its 5 s slot";
  }
  std::this_thread::sleep_for(milliseconds(slot * 5000 + 100 - ms_now()));
  archive_now();

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 1) << v.run.out << v.run.err;
  EXPECT_EQ(v.report["result"], "WARN");
  auto c = v.check("coverage");
  EXPECT_EQ(c["status"], "WARN") << c.dump(2);
  EXPECT_EQ(c["details"]["expected_slots"], 5);
  EXPECT_EQ(c["details"]["covered_slots"], 4);
  EXPECT_EQ(c["details"]["coverage_percent"], 80.0);
  ASSERT_EQ(c["details"]["missing_slots"].size(), 1u);
  EXPECT_EQ(c["details"]["missing_slots"][0]["start"], skipped_start);
  EXPECT_TRUE(has(v.run.out, "coverage 80.0% (4 of 5 slots of 5s in the last 1m)")) << v.run.out;
  EXPECT_TRUE(has(v.run.out, "[alert] missing snapshot: none started between " + skipped_start)) << v.run.out;
  for (const char* name : {"key", "checksums", "wal_continuity"}) EXPECT_EQ(v.check(name)["status"], "PASS") << name;
}

TEST_F(VerifyTest, SnapshotFiveTimesLargerThanItsPredecessorsWarns) {
  pgdr_ok({"init"});
  for (int i = 0; i < 3; ++i) backup();
  auto before = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"];
  double base = before.back()["size_bytes"].get<double>();
  // Grow the cluster to about five times its snapshot size.
  std::string rows = std::to_string(static_cast<long long>(base * 4 / 100));
  cluster_->psql("CREATE TABLE big AS SELECT g, md5(g::text) || md5((g + 1)::text) m FROM generate_series(1, " + rows + ") g");
  std::string big = backup();
  archive_now();
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"];
  double grown = info.back()["size_bytes"].get<double>();
  ASSERT_GT(grown, 4.5 * base) << "the test did not grow the cluster enough";

  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 1) << v.run.out << v.run.err;
  auto c = v.check("size_anomalies");
  EXPECT_EQ(c["status"], "WARN") << c.dump(2);
  ASSERT_FALSE(c["details"]["anomalies"].empty());
  for (const auto& a : c["details"]["anomalies"]) {
    EXPECT_EQ(a["snapshot"], big);
    EXPECT_EQ(a["direction"], "growth");
  }
  EXPECT_EQ(c["details"]["anomalies"][0]["measure"], "logical_bytes");
  EXPECT_TRUE(has(v.run.out, "[investigate] size anomaly: snapshot " + big + " logical size")) << v.run.out;
  EXPECT_TRUE(has(v.run.out, "the median")) << v.run.out;
}

TEST_F(VerifyTest, RestoreTestRestoresStartsChecksAndRemovesTheCopy) {
  expect_restore_test_passes();
}

TEST_F(VerifyTest, RestoreTestOfCorruptedSnapshotFailsAndLeavesNothingBehind) {
  std::string dr = work_->make_dir("dr");
  write_verify_config("[drill]\ndr_path = \"" + dr + "\"\n");
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 50000) g");
  backup();
  archive_now();
  std::string pack = packs().front();
  flip_byte(pack, fs::file_size(pack) / 2);

  auto v = verify({"--restore-test"});
  EXPECT_EQ(v.run.exit_code, 2) << v.run.out << v.run.err;
  auto c = v.check("restore_test");
  EXPECT_EQ(c["status"], "FAIL") << c.dump(2);
  EXPECT_EQ(c["details"]["failed_step"], "restore") << c.dump(2);
  EXPECT_TRUE(has(v.run.out, "[critical] restore test failed at restore of snapshot")) << v.run.out;
  EXPECT_TRUE(fs::is_empty(dr)) << "the throwaway cluster was left in " << dr;
  // No server of the copy is left running either: only the source's postmaster runs from here.
  auto ps = run_process({"pgrep", "-f", "pgdr-restore-test"});
  EXPECT_NE(ps.exit_code, 0) << ps.out;
}

TEST_F(VerifyTest, InterruptedRestoreTestStopsAndRemovesTheCopy) {
  std::string dr = work_->make_dir("dr");
  write_verify_config("[drill]\ndr_path = \"" + dr + "\"\n");
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 200000) g");
  backup();
  archive_now();

  // Started directly (not through the harness, which waits), so that it can be interrupted.
  std::string err_path = work_->file("interrupted.err");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv = {pgdr_path(), "--config", config_, "verify", "--restore-test", "--no-alerts"};
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  envs.push_back(std::string("PGDR_PASSPHRASE=") + kPassphrase);
  std::vector<char*> a, ev;
  for (auto& x : argv) a.push_back(x.data());
  a.push_back(nullptr);
  for (auto& x : envs) ev.push_back(x.data());
  ev.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, a[0], &fa, nullptr, a.data(), ev.data()), 0);
  posix_spawn_file_actions_destroy(&fa);

  // Interrupt once the copy's server has been started (its log exists).
  bool started = false;
  for (int i = 0; i < 600 && !started; ++i) {
    for (const auto& e : fs::directory_iterator(dr))
      if (fs::exists(e.path() / "server.log")) started = true;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(started) << "the restore test never started its server";
  ASSERT_TRUE(WIFEXITED(status));
  std::ifstream in(err_path);
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(WEXITSTATUS(status), 3) << err;
  EXPECT_TRUE(has(err, "pgdr: interrupted by SIGINT")) << err;
  EXPECT_TRUE(fs::is_empty(dr)) << "the throwaway cluster was left in " << dr;
  auto ps = run_process({"pgrep", "-f", "pgdr-restore-test"});
  EXPECT_NE(ps.exit_code, 0) << ps.out;
}

}  // namespace
}  // namespace pgdr::test
