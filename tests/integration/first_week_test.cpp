// The first week of a new user, in README's order: init a repository, take one snapshot, then turn
// archiving on (archive_command through pgdr), commit and switch WAL. Nothing is wrong, so nothing
// may alarm: verify passes (no WAL gap inside or before the first snapshot), measure passes (no
// drill yet is a note, coverage counts from the repository's creation), the daemon's /health
// answers 200, and the dashboard, loaded by headless Chromium, has no heat-map cell before the
// repository existed (its screenshot is kept as a test artifact). And an idle database, nothing
// committed since the newest archived commit, has an RPO of 0 s.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "core/time_format.h"
#include "harness/background_process.h"
#include "pgdr_fixture.h"
#include "report_schema.h"

namespace pgdr::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Http {
  int status = 0;
  std::string body;
};

Http curl(const std::string& url) {
  ProcessResult r = run_process({"curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}", url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Http h;
  auto nl = r.out.rfind('\n');
  if (nl == std::string::npos) return h;
  h.status = std::atoi(r.out.c_str() + nl + 1);
  h.body = r.out.substr(0, nl);
  return h;
}

// "2026-12-06T05" for the UTC hour of t, as the heat map's data-hour attributes write it.
std::string hour_key(SystemTime t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H", &tm);
  return b;
}

const json& check_named(const json& report, const std::string& name) {
  static const json none;
  for (const auto& c : report["checks"])
    if (c["name"] == name) return c;
  return none;
}

class FirstWeekTest : public PgdrTest {
 protected:
  void TearDown() override {
    daemon_.reset();
    PgdrTest::TearDown();
  }

  // The objectives README shows; the catalog in the test's directory; the daemon on a free port.
  void write_first_week_config() {
    write_config("[catalog]\npath = \"" + work_->file("catalog.db") + "\"\n[objectives]\nrto = \"4h\"\nrpo = \"1h\"\n" +
                 "[daemon]\nlisten = \"127.0.0.1:0\"\n");
  }

  // README step 4: archive_mode on and archive_command through pgdr, which takes a restart.
  void turn_archiving_on() {
    cluster_->append_config("archive_mode = on");
    cluster_->append_config("archive_command = '" + pgdr_path() + " --config " + config_ + " archive-push %p'");
    cluster_->restart();
  }

  void start_daemon() {
    daemon_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{pgdr_path(), "--config", config_, "daemon"},
        std::vector<std::string>{std::string("PGDR_PASSPHRASE=") + kPassphrase}, work_->file("daemon.log"));
    static const std::regex listening(R"(listening on (http://127\.0\.0\.1:\d+)/)");
    for (int i = 0; i < 300; ++i) {
      std::smatch m;
      std::string log = daemon_->log();
      if (std::regex_search(log, m, listening)) {
        base_url_ = m[1].str();
        return;
      }
      ASSERT_TRUE(daemon_->running()) << "the daemon exited:\n" << log;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "the daemon did not start listening:\n" << daemon_->log();
  }

  SystemTime repository_created() {
    json settings = json::parse(read_whole(repo_dir_ + "/pgdr.repo"));
    auto t = parse_iso8601(settings["created"].get<std::string>());
    EXPECT_TRUE(t.has_value()) << settings.dump();
    return t.value_or(SystemTime{});
  }

  std::unique_ptr<BackgroundProcess> daemon_;
  std::string base_url_;
};

TEST_F(FirstWeekTest, ReadmeOrderRaisesNoAlarm) {
  write_first_week_config();
  pgdr_ok({"init"});
  const SystemTime created = repository_created();
  backup();
  turn_archiving_on();
  cluster_->psql("CREATE TABLE sales (id serial PRIMARY KEY, product int, at timestamptz DEFAULT now())");
  for (int i = 0; i < 5; ++i) cluster_->psql("INSERT INTO sales (product) SELECT g FROM generate_series(1, 200) g");
  archive_now(*cluster_);

  // verify: PASS, the WAL archive continuous from the segment after the snapshot's own WAL.
  const std::string verify_report = work_->file("verify.json");
  PgdrResult v = pgdr({"verify", "--report", verify_report});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(report_schema_errors("verify", verify_report), "");
  json vr = json::parse(read_whole(verify_report));
  EXPECT_EQ(vr["result"], "PASS") << vr.dump(2);
  const json& wal = check_named(vr, "wal_continuity");
  EXPECT_EQ(wal["status"], "PASS") << wal.dump(2);
  EXPECT_EQ(wal["details"]["gaps"].size(), 0u) << wal.dump(2);
  EXPECT_EQ(wal["findings"].size(), 0u) << wal.dump(2);
  EXPECT_EQ(v.out.find("[critical]"), std::string::npos) << v.out;

  // measure: PASS; no drill yet is said once, not warned.
  const std::string measure_report = work_->file("measure.json");
  PgdrResult m = pgdr({"measure", "--report", measure_report});
  EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
  EXPECT_EQ(report_schema_errors("measure", measure_report), "");
  json mr = json::parse(read_whole(measure_report));
  EXPECT_EQ(mr["result"], "PASS") << mr.dump(2);
  EXPECT_EQ(check_named(mr, "rto")["status"], "SKIP") << mr.dump(2);
  EXPECT_EQ(check_named(mr, "coverage")["status"], "PASS") << mr.dump(2);
  EXPECT_EQ(check_named(mr, "coverage")["details"]["coverage_percent"], 100.0) << mr.dump(2);
  EXPECT_EQ(check_named(mr, "rpo")["status"], "PASS") << mr.dump(2);
  std::size_t lines_about_drills = 0;
  std::istringstream lines(m.out);
  for (std::string line; std::getline(lines, line);) lines_about_drills += line.find("drill") != std::string::npos;
  EXPECT_EQ(lines_about_drills, 1u) << m.out;
  EXPECT_NE(m.out.find("\n  rto SKIP  note: no drill yet: pgdr drill measures the RTO\n"), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find("WARN"), std::string::npos) << m.out;

  // The daemon: healthy, and its dashboard starts at the repository's creation.
  start_daemon();
  Http h = curl(base_url_ + "/health");
  EXPECT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(h.body, "ok\n");
  Http metrics = curl(base_url_ + "/metrics");
  EXPECT_NE(metrics.body.find("\npgdr_healthy 1\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("pgdr_build_info{version=\""), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("\npgdr_snapshot_coverage_ratio{repo=\"local\"} 1\n"), std::string::npos) << metrics.body;

  const std::string chromium_home = work_->make_dir("chromium");
  auto chromium = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"timeout",         "60",         "chromium", "--headless", "--no-sandbox",
                                     "--disable-gpu",   "--disable-dev-shm-usage", "--user-data-dir=" + chromium_home,
                                     "--window-size=1400,1000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv, {}, {"HOME=" + chromium_home});
  };
  ProcessResult dom = chromium({"--dump-dom", base_url_ + "/"});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // Every cell's hour, in page order (newest day first, hours ascending within a day).
  std::vector<std::string> hours;
  static const std::regex cell_re("<rect class=\"([a-z]+)\" data-hour=\"([0-9T-]+)\"");
  for (auto it = std::sregex_iterator(dom.out.begin(), dom.out.end(), cell_re); it != std::sregex_iterator(); ++it) {
    hours.push_back((*it)[2].str());
    EXPECT_NE((*it)[1].str(), "missing") << "hour " << (*it)[2].str() << " shown missing in a repository created "
                                         << iso8601(created);
  }
  ASSERT_FALSE(hours.empty()) << dom.out;
  const std::string created_hour = hour_key(created);
  const std::string earliest = *std::min_element(hours.begin(), hours.end());
  EXPECT_EQ(earliest, created_hour) << "the heat map starts at the repository's creation hour";
  for (const auto& hour : hours) EXPECT_GE(hour, created_hour) << "a cell before the repository existed";

  const auto artifacts = std::filesystem::path(PGDR_BINARY).parent_path().parent_path() / "test-artifacts";
  std::filesystem::create_directories(artifacts);
  const std::string png = (artifacts / "first-week-dashboard.png").string();
  std::filesystem::remove(png);
  ProcessResult shot = chromium({"--screenshot=" + png, base_url_ + "/"});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  const std::string bytes = read_whole(png);
  ASSERT_GT(bytes.size(), 2000u) << png;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::cout << "first-week dashboard screenshot: " << png << std::endl;
  RecordProperty("dashboard_screenshot", png);
}

class IdleDatabaseTest : public FirstWeekTest {
 protected:
  // No autovacuum: its analyze would commit a transaction of its own after the WAL switch.
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = archiving({});
    o.settings.push_back("autovacuum = off");
    return o;
  }
};

// Nothing committed since the newest archived commit: a disaster now loses nothing, so the RPO is
// 0 s however long ago that commit was. One more commit, not archived, makes it the lag again.
TEST_F(IdleDatabaseTest, RpoIsZeroWhenNothingWasCommittedSinceTheNewestArchivedCommit) {
  write_first_week_config();
  pgdr_ok({"init"});
  backup();
  cluster_->psql("CREATE TABLE t (v int); INSERT INTO t VALUES (1)");
  archive_now(*cluster_);
  std::this_thread::sleep_for(3s);

  const std::string report = work_->file("measure.json");
  PgdrResult m = pgdr({"measure", "--report", report});
  EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
  json j = json::parse(read_whole(report));
  const json& rpo = check_named(j, "rpo");
  EXPECT_EQ(j["rpo_seconds"], 0.0) << rpo.dump(2);
  EXPECT_EQ(rpo["status"], "PASS") << rpo.dump(2);
  ASSERT_TRUE(rpo["details"].contains("idle")) << rpo.dump(2);
  EXPECT_TRUE(rpo["details"]["idle"].get<std::string>().starts_with(
      "no transaction completed on the source after the newest archived commit (transaction "))
      << rpo.dump(2);
  EXPECT_NE(m.out.find("RPO now 0 s"), std::string::npos) << m.out;

  // A commit that is not archived yet: no longer idle, the RPO is the time since the archived one.
  cluster_->psql("INSERT INTO t VALUES (2)");
  m = pgdr({"measure", "--report", report});
  j = json::parse(read_whole(report));
  EXPECT_FALSE(check_named(j, "rpo")["details"].contains("idle")) << j.dump(2);
  EXPECT_GE(j["rpo_seconds"].get<double>(), 3.0) << j.dump(2);
}

}  // namespace
}  // namespace pgdr::test
