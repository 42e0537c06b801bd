// pgdr drill against real servers: a healthy drill and its timing, RPO honesty with archiving
// stopped and running, an integrity failure named, an objective breached, and rollback after an
// interrupt or a failure leaving nothing behind.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <iostream>
#include <regex>
#include <thread>

#include "core/time_format.h"
#include "drill_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The commit time a report gives (ISO 8601, to the millisecond), expected within [from, to] of the
// test's own clock, which the server shares.
SystemTime commit_within(const json& text, SystemTime from, SystemTime to) {
  const auto t = text.is_string() ? parse_iso8601(text.get<std::string>()) : std::nullopt;
  EXPECT_TRUE(t) << "no commit time: " << text;
  if (!t) return from;
  const auto ms = std::chrono::milliseconds(1);  // the report's rounding
  EXPECT_GE(*t + ms, from) << text << " is before " << iso8601_ms(from);
  EXPECT_LE(*t - ms, to) << text << " is after " << iso8601_ms(to);
  return *t;
}

// The HTML report as a browser shows it: no raw JSON in the visible text; who ran the drill; the
// RTO components with their total; the timeline's names left of the bars and durations right of
// them, over a time axis. Its screenshot is kept under the build directory.
void expect_report_page_reads_well(const std::string& html, const json& j) {
  const std::string page = read_whole(html);
  double left = 1e9, right = 0;
  static const std::regex rect_re("<rect x=\"([0-9.]+)\" y=\"[0-9]+\" width=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), rect_re); it != std::sregex_iterator(); ++it) {
    left = std::min(left, std::stod((*it)[1].str()));
    right = std::max(right, std::stod((*it)[1].str()) + std::stod((*it)[2].str()));
  }
  ASSERT_LT(left, right) << "no bar in the timeline";
  static const std::regex name_re("<text x=\"([0-9.]+)\" y=\"[0-9]+\" font-size=\"13\" text-anchor=\"end\">");
  static const std::regex figure_re("<text x=\"([0-9.]+)\" y=\"[0-9]+\" font-size=\"12\">");
  int names = 0, figures = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), name_re); it != std::sregex_iterator(); ++it, ++names)
    EXPECT_LT(std::stod((*it)[1].str()), left) << "a phase name reaches into the bars";
  for (auto it = std::sregex_iterator(page.begin(), page.end(), figure_re); it != std::sregex_iterator(); ++it, ++figures)
    EXPECT_GT(std::stod((*it)[1].str()), right) << "a duration overlaps the bars";
  EXPECT_EQ(names, 5);
  EXPECT_EQ(figures, 5);

  const std::string home = std::filesystem::path(html).parent_path() / "chromium";
  std::filesystem::create_directories(home);
  auto chromium = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"timeout", "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                     "--disable-dev-shm-usage", "--user-data-dir=" + home, "--window-size=1200,2400"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv, {}, {"HOME=" + home});
  };
  ProcessResult dom = chromium({"--dump-dom", "file://" + html});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // The visible text: the DOM without its style sheet and its tags.
  std::string visible = std::regex_replace(dom.out, std::regex("<style>[^<]*</style>"), " ");
  visible = std::regex_replace(visible, std::regex("<[^>]*>"), " ");
  EXPECT_EQ(visible.find("{\""), std::string::npos) << visible;
  EXPECT_NE(visible.find("run on host " + j["host"].get<std::string>() + " as OS user " + j["os_user"].get<std::string>() +
                         " with pgdr " + j["pgdr_version"].get<std::string>()),
            std::string::npos)
      << visible;
  EXPECT_NE(visible.find("total (RTO)"), std::string::npos) << visible;
  EXPECT_NE(visible.find("seconds since the drill started"), std::string::npos) << visible;
  EXPECT_NE(visible.find("pg_amcheck"), std::string::npos) << visible;
  // RTO components in phase order, after their heading.
  std::size_t at = visible.find("RTO components");
  ASSERT_NE(at, std::string::npos) << visible;
  const std::pair<const char*, const char*> components[] = {
      {"prepare", "prepare"},        {"restore", "restore"}, {"startup", "server startup"},
      {"wal_replay", "WAL replay"}, {"checks", "checks"},   {"application", "application check"}};
  for (const auto& [key, shown] : components) {
    if (!j["rto"]["components"].contains(key)) continue;
    at = visible.find(shown, at);
    ASSERT_NE(at, std::string::npos) << shown << " missing or out of order in: " << visible;
  }

  const auto artifacts = std::filesystem::path(PGDR_BINARY).parent_path().parent_path() / "test-artifacts";
  std::filesystem::create_directories(artifacts);
  const std::string png = (artifacts / "drill-report.png").string();
  std::filesystem::remove(png);
  ProcessResult shot = chromium({"--screenshot=" + png, "file://" + html});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  const std::string bytes = read_whole(png);
  ASSERT_GT(bytes.size(), 2000u) << png;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::cout << "drill report screenshot: " << png << std::endl;
  testing::Test::RecordProperty("drill_report_screenshot", png);
}

TEST_F(DrillTest, HealthyDrillPassesWithFivePhasesAndMeasuredRto) {
  json j;
  ASSERT_NO_FATAL_FAILURE(expect_healthy_drill(j));
  const std::string report = work_->file("drill.json"), html = work_->file("drill.html");
  // The HTML report is one self-contained file.
  std::ifstream h(html);
  std::string page((std::istreambuf_iterator<char>(h)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("rollback"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  expect_report_page_reads_well(html, j);
  expect_nothing_left();
  // The primary carries on.
  EXPECT_EQ(cluster_->psql("SELECT count(*) FROM sales"), "55000");
  // Recorded: a second drill shows both in its trend.
  auto again = pgdr({"drill", "--report", report});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_json(report)["trend"]["drills"].size(), 2u);
  // Both drills are in the repository's audit log, after the backup.
  auto audit = pgdr({"audit", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  json log = json::parse(audit.out);
  int drills = 0;
  for (const auto& e : log["entries"]) drills += e["command"] == "drill" && e["result"] == "PASS";
  EXPECT_EQ(drills, 2) << log.dump(2);
}

TEST_F(DrillTest, RpoCountsTheCommitsLostWhileArchivingWasStopped) {
  make_shop_data();
  backup();
  const auto before_insert = std::chrono::system_clock::now();
  cluster_->psql("INSERT INTO sales (product) VALUES (1)");
  archive_now(*cluster_);
  const auto archived_at = std::chrono::system_clock::now();
  // Archiving stops: what is committed from now on is in no repository.
  cluster_->append_config("archive_command = 'false'");
  cluster_->reload();
  constexpr int kLossSeconds = 6;
  const auto until = Clock::now() + std::chrono::seconds(kLossSeconds);
  while (Clock::now() < until) {
    cluster_->psql("INSERT INTO sales (product) VALUES (2)");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const auto declared = std::chrono::system_clock::now();
  const std::string report = work_->file("drill.json");
  auto r = pgdr({"drill", "--report", report});
  json j = read_json(report);
  ASSERT_TRUE(j["rpo_seconds"].is_number()) << r.err << j.dump(2);
  const double rpo = j["rpo_seconds"].get<double>();
  EXPECT_GE(rpo, kLossSeconds) << j["rpo"].dump(2);
  // The figure is the gap between two real commits, each found when it happened, however long
  // the commands around them took: the newest the copy replayed is the last one archived (the
  // insert above, or one before archiving caught up); the source's newest is the heartbeat the
  // drill wrote once the disaster was declared, before its restore began.
  const auto restored = commit_within(j["rpo"]["restored_newest_commit"], before_insert, archived_at);
  const auto source = commit_within(j["rpo"]["source_newest_commit"], declared,
                                    *parse_iso8601(phase(j, "restore")["started_at"].get<std::string>()));
  EXPECT_NEAR(rpo, std::chrono::duration<double>(source - restored).count(), 0.002) << j["rpo"].dump(2);
  // The lost rows are reported as written after the recovery point, not as corruption.
  EXPECT_EQ(phase(j, "integrity")["status"], "PASS") << phase(j, "integrity").dump(2);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_nothing_left();
}

class DrillArchiveTimeoutTest : public DrillTest {
 protected:
  std::vector<std::string> extra_settings() override { return {"archive_timeout = 5"}; }
};

TEST_F(DrillArchiveTimeoutTest, RpoStaysWithinArchiveTimeoutWhileArchiving) {
  make_shop_data();
  backup();
  const auto until = Clock::now() + std::chrono::seconds(12);
  while (Clock::now() < until) {
    cluster_->psql("INSERT INTO sales (product) VALUES (3)");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const std::string report = work_->file("drill.json");
  auto r = pgdr({"drill", "--report", report});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json j = read_json(report);
  ASSERT_TRUE(j["rpo_seconds"].is_number()) << j.dump(2);
  // archive_timeout bounds how old the newest archived commit can be, plus the archiver's own delay.
  EXPECT_LE(j["rpo_seconds"].get<double>(), 5.0 + 1.5) << j["rpo"].dump(2);
  EXPECT_GT(j["rpo_seconds"].get<double>(), 0.0) << j["rpo"].dump(2);
}

TEST_F(DrillTest, CorruptedBlockFailsIntegrityAndNamesTheTable) {
  make_shop_data();
  cluster_->psql("CREATE TABLE victim (id int, payload text); INSERT INTO victim SELECT g, md5(g::text) FROM generate_series(1, 2000) g; CHECKPOINT");
  const std::string file = cluster_->data_dir() + "/" + cluster_->psql("SELECT pg_relation_filepath('victim')");
  cluster_->stop();
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8192 + 3000);
    f.write("\x55\xAA\x55\xAA\x55\xAA", 6);
  }
  cluster_->start();
  auto b = pgdr({"backup"});
  ASSERT_EQ(b.exit_code, 1) << "the damaged page should be reported: " << b.err;
  ASSERT_NE(b.err.find("failed checksum"), std::string::npos) << b.err;
  archive_now(*cluster_);
  const std::string report = work_->file("drill.json");
  auto r = pgdr({"drill", "--report", report});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  json j = read_json(report);
  EXPECT_EQ(j["result"], "FAIL");
  const json& integrity = phase(j, "integrity");
  EXPECT_EQ(integrity["status"], "FAIL");
  EXPECT_NE(integrity["error"].get<std::string>().find("victim"), std::string::npos) << integrity.dump(2);
  EXPECT_EQ(phase(j, "rollback")["status"], "PASS");
  expect_nothing_left();
}

TEST_F(DrillTest, ObjectiveBelowTheMeasuredRtoFails) {
  write_drill_config("");
  std::ofstream(config_, std::ios::app) << "[objectives]\nrto = \"50ms\"\nrpo = \"1h\"\n";
  make_shop_data();
  backup();
  const std::string report = work_->file("drill.json");
  auto r = pgdr({"drill", "--report", report});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  json j = read_json(report);
  EXPECT_EQ(j["result"], "FAIL");
  EXPECT_EQ(j["rto"]["status"], "FAIL");
  EXPECT_LT(j["rto"]["margin_seconds"].get<double>(), 0.0);
  EXPECT_NE(r.out.find("RTO"), std::string::npos);
}

TEST_F(DrillTest, AHungApplicationCheckIsKilledAtItsTimeout) {
  write_config("[drill]\ndr_path = \"" + dr_path_ + "\"\napp_check = \"sleep 600 & sleep 600\"\napp_check_timeout = \"3s\"\n" +
               "[catalog]\npath = \"" + work_->file("catalog.db") + "\"\n");
  make_shop_data();
  backup();
  const std::string report = work_->file("drill.json");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = pgdr({"drill", "--report", report});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(120)) << "the drill waited for the hung check";
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  json j = read_json(report);
  EXPECT_EQ(j["result"], "FAIL");
  std::string errors;
  for (const auto& p : j["phases"]) errors += p.value("error", "") + "\n";
  EXPECT_NE(errors.find("the application check failed for 3 s"), std::string::npos) << j.dump(2);
  EXPECT_NE(errors.find("did not finish within the timeout (killed)"), std::string::npos) << j.dump(2);
}

// A repository whose name a shell would misread unquoted: a single quote, double quotes, a space
// and a `$`. The copy's restore_command names it (archive-get --repo), through the shell and through
// postgresql.auto.conf, and still reaches it.
class DrillQuotedRepoTest : public DrillTest {
 protected:
  static constexpr const char* kName = "o'brien \"$HOME\"";
  std::string repo_toml() override {
    return "[[repo]]\nname = \"o'brien \\\"$HOME\\\"\"\npath = \"" + repo_dir_ + "\"\n";
  }
};

TEST_F(DrillQuotedRepoTest, ARepositoryNamedWithAQuoteStillRecovers) {
  json j;
  ASSERT_NO_FATAL_FAILURE(expect_healthy_drill(j));
  EXPECT_EQ(j["repository"], kName);
  // The copy replayed the archived WAL: the rows written after the snapshot are there.
  for (const auto& t : phase(j, "integrity")["details"]["databases"]["postgres"]["tables_not_identical"])
    EXPECT_TRUE(t["table"] != "public.sales" && t["table"] != "public.stock") << t.dump(2);
  expect_nothing_left();
  // So does a restore limited to it: recovery reads the newest archived row.
  cluster_->psql("INSERT INTO sales (product) VALUES (7)");
  archive_now(*cluster_);
  EXPECT_EQ(restore_and_query({"--repo", kName}, "SELECT count(*) FROM sales"), "55001");
}

class DrillSignalTest : public DrillTest, public testing::WithParamInterface<int> {};

TEST_P(DrillSignalTest, InterruptDuringRestoreRollsBack) {
  // Large enough that the restore takes a moment.
  cluster_->run_as_server_user({PgCluster::bin("pgbench"), "-i", "-s", "15", "-q", "-h", "127.0.0.1", "-p",
                                std::to_string(cluster_->port()), "postgres"});
  backup();
  const std::string report = work_->file("drill.json");
  std::thread interrupter([&] {
    // The signal to the pgdr process as soon as its DR data directory is being written.
    for (int i = 0; i < 3000; ++i) {
      bool restoring = false;
      for (const auto& e : fs::directory_iterator(dr_path_))
        restoring |= fs::exists(e.path() / "data" / "base");
      if (restoring) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    DIR* proc = ::opendir("/proc");
    while (const dirent* e = ::readdir(proc)) {
      std::ifstream cmd(std::string("/proc/") + e->d_name + "/cmdline");
      std::string all((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
      if (all.find(config_) != std::string::npos && all.find("drill") != std::string::npos &&
          all.find(pgdr_path()) == 0)
        ::kill(std::atoi(e->d_name), GetParam());
    }
    ::closedir(proc);
  });
  auto r = pgdr({"drill", "--report", report});
  interrupter.join();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  json j = read_json(report);
  EXPECT_EQ(j["interrupted"], true) << j.dump(2);
  // The signal came while the restore was writing the DR data directory.
  EXPECT_EQ(phase(j, "restore")["status"], "FAIL") << j.dump(2);
  EXPECT_NE(phase(j, "restore")["error"].get<std::string>().find("interrupt"), std::string::npos) << j.dump(2);
  EXPECT_EQ(phase(j, "measure")["status"], "SKIPPED");
  EXPECT_EQ(phase(j, "rollback")["status"], "PASS") << j.dump(2);
  expect_nothing_left();
  EXPECT_EQ(cluster_->psql("SELECT count(*) FROM pgbench_branches"), "15");
}

INSTANTIATE_TEST_SUITE_P(Signals, DrillSignalTest, testing::Values(SIGINT, SIGTERM),
                         [](const testing::TestParamInfo<int>& i) { return i.param == SIGINT ? "SIGINT" : "SIGTERM"; });

using MeasureTest = DrillTest;

TEST_F(MeasureTest, RpoTracksTheLagOfPausedArchivingAndRtoComesFromTheLastDrill) {
  make_shop_data();
  backup();
  cluster_->psql("INSERT INTO sales (product) VALUES (4)");
  archive_now(*cluster_);
  const std::string report = work_->file("measure.json");
  auto m = pgdr({"measure", "--report", report});
  json j = read_json(report);
  ASSERT_TRUE(j["rpo_seconds"].is_number()) << m.out << m.err << j.dump(2);
  EXPECT_LT(j["rpo_seconds"].get<double>(), 3.0) << j.dump(2);
  // No drill yet: the RTO is unknown, and measure says so once rather than guess or warn. A
  // repository made a moment ago with one snapshot is fully covered, and one snapshot has no WAL
  // rate yet: nothing here is a risk, so the result is PASS (it was WARN, a first-week false alarm).
  EXPECT_TRUE(j["rto_seconds"].is_null());
  for (const auto& c : j["checks"]) {
    if (c["name"] == "rto") {
      EXPECT_EQ(c["status"], "SKIP") << c.dump(2);
      EXPECT_EQ(c["details"]["note"], "no drill yet: pgdr drill measures the RTO") << c.dump(2);
    }
    if (c["name"] == "coverage") {
      EXPECT_EQ(c["status"], "PASS") << c.dump(2);
    }
    if (c["name"] == "wal_rate") {
      EXPECT_EQ(c["status"], "SKIP") << c.dump(2);
    }
  }
  EXPECT_EQ(j["result"], "PASS") << j.dump(2);
  EXPECT_EQ(m.exit_code, 0) << m.out;
  EXPECT_NE(m.out.find("RTO not measured yet"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("  rto SKIP  note: no drill yet: pgdr drill measures the RTO\n"), std::string::npos) << m.out;

  // Archiving pauses while the shop keeps selling.
  const auto before_insert = std::chrono::system_clock::now();
  cluster_->psql("INSERT INTO sales (product) VALUES (6)");
  archive_now(*cluster_);
  const auto archived_at = std::chrono::system_clock::now();
  cluster_->append_config("archive_command = 'false'");
  cluster_->reload();
  const auto until = Clock::now() + std::chrono::seconds(6);
  while (Clock::now() < until) {
    cluster_->psql("INSERT INTO sales (product) VALUES (5)");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const auto measured_at = std::chrono::system_clock::now();
  pgdr({"measure", "--report", report});
  const auto measure_ended = std::chrono::system_clock::now();
  j = read_json(report);
  ASSERT_TRUE(j["rpo_seconds"].is_number()) << j.dump(2);
  const double rpo = j["rpo_seconds"].get<double>();
  EXPECT_GE(rpo, 6.0) << j.dump(2);
  // "Now" minus the newest archived commit, found when it happened (the insert above, or one
  // before archiving caught up): the lag lies between what the test saw before and after measure
  // (give or take the two figures' rounding to the millisecond).
  json rpo_check;
  for (const auto& c : j["checks"])
    if (c["name"] == "rpo") rpo_check = c;
  const auto newest = commit_within(rpo_check["details"]["newest_archived_commit"], before_insert, archived_at);
  EXPECT_GE(rpo + 0.002, std::chrono::duration<double>(measured_at - newest).count()) << rpo_check.dump(2);
  EXPECT_LE(rpo - 0.002, std::chrono::duration<double>(measure_ended - newest).count()) << rpo_check.dump(2);

  // Archiving resumes: the lag closes.
  cluster_->append_config("archive_command = '" + pgdr_path() + " --config " + config_ + " archive-push %p'");
  cluster_->reload();
  archive_now(*cluster_);
  pgdr({"measure", "--report", report});
  EXPECT_LT(read_json(report)["rpo_seconds"].get<double>(), 3.0) << read_json(report).dump(2);

  // After a drill, measure reports its RTO and a forecast built from what it measured.
  auto d = pgdr({"drill", "--report", work_->file("drill.json")});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const double drill_rto = read_json(work_->file("drill.json"))["rto_seconds"].get<double>();
  m = pgdr({"measure", "--report", report});
  j = read_json(report);
  EXPECT_DOUBLE_EQ(j["rto_seconds"].get<double>(), drill_rto);
  ASSERT_TRUE(j["rto_forecast_seconds"].is_number()) << j.dump(2);
  EXPECT_GT(j["rto_forecast_seconds"].get<double>(), 0.0);
  std::vector<std::string> names;
  for (const auto& c : j["checks"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"rpo", "rto", "coverage", "growth", "wal_rate"}));

  // Everything is in the history.
  auto h = pgdr({"history", "--json"});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  json hist = json::parse(h.out);
  int drills = 0, measures = 0;
  for (const auto& r : hist["runs"]) {
    drills += r["kind"] == "drill";
    measures += r["kind"] == "measure";
  }
  EXPECT_EQ(drills, 1);
  EXPECT_EQ(measures, 4);
  EXPECT_DOUBLE_EQ(hist["moving_averages"]["drill"]["rto_seconds"].get<double>(), drill_rto);
}

TEST_F(MeasureTest, ContinuousPrintsOneJsonLinePerInterval) {
  make_shop_data();
  backup();
  archive_now(*cluster_);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    DIR* proc = ::opendir("/proc");
    while (const dirent* e = ::readdir(proc)) {
      std::ifstream cmd(std::string("/proc/") + e->d_name + "/cmdline");
      std::string all((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
      if (all.find(config_) != std::string::npos && all.find("measure") != std::string::npos && all.find(pgdr_path()) == 0)
        ::kill(std::atoi(e->d_name), SIGTERM);
    }
    ::closedir(proc);
  });
  auto r = pgdr({"measure", "--continuous", "--interval", "1s"});
  stopper.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int lines = 0;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    EXPECT_EQ(j["kind"], "measure");
    EXPECT_TRUE(j.contains("rpo_seconds"));
    EXPECT_EQ(report_text_schema_errors("measure", line), "") << line;
    ++lines;
  }
  EXPECT_GE(lines, 2);
  EXPECT_LE(lines, 5);
}

}  // namespace
}  // namespace pgdr::test
