#include "daemon/status.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "daemon/dashboard.h"

namespace pgdr::daemon {
namespace {

SystemTime at(const std::string& iso) { return *parse_iso8601(iso); }

repo::SnapshotInfo snapshot(const std::string& stop, std::uint64_t logical, std::uint64_t stored) {
  repo::SnapshotInfo s;
  s.id = stop;
  s.stop_time = stop;
  s.logical_bytes = logical;
  s.stored_bytes = stored;
  s.duration_seconds = 1.5;
  return s;
}

Config config() {
  Config c;
  c.cluster.name = "shop";
  c.objectives.rto = std::chrono::hours(2);
  c.objectives.rpo = std::chrono::minutes(10);
  c.schedule.backup = "0 * * * *";
  c.daemon.heatmap_days = 2;
  return c;
}

Status status() {
  Status st;
  st.now = at("2026-11-26T10:30:00Z");
  RepoStatus r;
  r.name = "loc\"al";
  r.size_bytes = 12345;
  r.snapshots = {snapshot("2026-11-26T08:05:00Z", 1000, 900), snapshot("2026-11-26T10:05:00Z", 2000, 100)};
  st.repos.push_back(r);
  return st;
}

TEST(DaemonStatus, CoverageCountsHourSlotsBackFromNow) {
  auto st = status();
  // 10:05 is in the slot 0-1 h ago, 08:05 in the slot 2-3 h ago.
  EXPECT_DOUBLE_EQ(coverage_ratio(st.repos[0], st.now), 2.0 / 24.0);
  EXPECT_DOUBLE_EQ(coverage_ratio(RepoStatus{}, st.now), 0.0);
}

TEST(DaemonStatus, MetricsCarryTheValuesWithHelpTypeAndEscapedLabels) {
  auto st = status();
  catalog::RunRecord drill;
  drill.id = 7;
  drill.kind = "drill";
  drill.result = "WARN";
  drill.seconds = 95.25;
  drill.rto_seconds = 80;
  drill.rpo_seconds = 4;
  drill.started = at("2026-11-26T09:00:00Z");
  catalog::RunRecord measure;
  measure.id = 8;
  measure.kind = "measure";
  measure.result = "PASS";
  measure.rpo_seconds = 12.5;
  measure.started = at("2026-11-26T10:29:00Z");
  measure.report_json = R"({"checks":[{"name":"rpo","details":{"archive_lag_seconds":12.5}}]})";
  st.runs = {measure, drill};
  st.jobs.runs[{"backup", "ok"}] = 3;
  st.jobs.skipped["backup"] = 1;
  const std::string m = metrics_text(config(), st);
  const std::string l = "{repo=\"loc\\\"al\"}";
  for (const std::string& line : std::vector<std::string>{"# TYPE pgdr_snapshots gauge",
                                                          "pgdr_snapshots" + l + " 2",
                                                          "pgdr_last_snapshot_age_seconds" + l + " 1500",
                                                          "pgdr_last_snapshot_size_bytes" + l + " 2000",
                                                          "pgdr_last_snapshot_stored_bytes" + l + " 100",
                                                          "pgdr_last_snapshot_duration_seconds" + l + " 1.5",
                                                          "pgdr_snapshot_coverage_ratio" + l + " 0.0833333333333333",
                                                          "pgdr_repository_size_bytes" + l + " 12345",
                                                          "pgdr_wal_archive_lag_seconds 12.5",
                                                          "pgdr_last_measure_age_seconds 60",
                                                          "pgdr_rto_seconds 80",
                                                          "pgdr_rpo_seconds 12.5",
                                                          "pgdr_rto_objective_seconds 7200",
                                                          "pgdr_rpo_objective_seconds 600",
                                                          "pgdr_last_drill_result 1",
                                                          "pgdr_last_drill_duration_seconds 95.25",
                                                          "pgdr_last_measure_result 0",
                                                          "# TYPE pgdr_job_runs_total counter",
                                                          "pgdr_job_runs_total{job=\"backup\",result=\"ok\"} 3",
                                                          "pgdr_job_skipped_total{job=\"backup\"} 1",
                                                          "pgdr_healthy 1"})
    EXPECT_NE(m.find("\n" + line + "\n"), std::string::npos) << line << "\n" << m;
  EXPECT_EQ(m.find("pgdr_last_verify_result"), std::string::npos) << "no verify yet: no sample";
  EXPECT_EQ(m.back(), '\n');
}

TEST(DaemonStatus, MetricsCarryTheHttpServersCountsOnlyFromTheDaemon) {
  auto st = status();
  EXPECT_EQ(metrics_text(config(), st).find("pgdr_http_"), std::string::npos) << "pgdr report has no server";
  st.http = HttpStats{3, 17, 72, 1};
  const std::string m = metrics_text(config(), st);
  for (const std::string& line : std::vector<std::string>{"# TYPE pgdr_http_connections_open gauge",
                                                          "pgdr_http_connections_open 3",
                                                          "# TYPE pgdr_http_connections_refused_total counter",
                                                          "pgdr_http_connections_refused_total 17",
                                                          "pgdr_http_requests_timed_out_total 72",
                                                          "pgdr_http_requests_too_large_total 1"})
    EXPECT_NE(m.find("\n" + line + "\n"), std::string::npos) << line << "\n" << m;
}

TEST(DaemonStatus, HealthNamesEachProblem) {
  auto cfg = config();
  auto st = status();
  EXPECT_TRUE(health_problems(cfg, st).empty());

  st.now = at("2026-11-26T12:06:00Z");  // 2 h 1 min after the newest snapshot, schedule hourly
  auto p = health_problems(cfg, st);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "newest snapshot in repository 'loc\"al' is 2 h old, more than twice the backup schedule's "
            "interval of 1 h");

  st = status();
  catalog::RunRecord verify;
  verify.id = 3;
  verify.kind = "verify";
  verify.repository = "loc\"al";
  verify.result = "FAIL";
  verify.started = at("2026-11-26T10:00:00Z");
  st.repos[0].last_verify = verify;
  catalog::RunRecord measure;
  measure.kind = "measure";
  measure.rpo_seconds = 750;
  measure.started = at("2026-11-26T10:10:00Z");
  st.runs = {measure, verify};
  st.jobs.last["backup"] = {"error", 1, st.now, 1.0, "pgdr: unable to connect"};
  st.repos.push_back({"empty", {}, 0, "", std::nullopt, std::nullopt});
  p = health_problems(cfg, st);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], "no snapshot in repository 'empty'");
  EXPECT_EQ(p[1], "last verify of repository 'loc\"al' failed (started 2026-11-26T10:00:00Z, report /reports/3)");
  EXPECT_EQ(p[2], "RPO 12.5 min measured at 2026-11-26T10:10:00Z is over the objective of 10 min");
  EXPECT_EQ(p[3], "last backup job failed with exit code 1: pgdr: unable to connect");
}

TEST(DaemonDashboard, HeatMapMarksHoursWithAndWithoutSnapshots) {
  auto st = status();
  std::string h = dashboard_html(config(), st, [](std::int64_t id) { return "/reports/" + std::to_string(id); });
  EXPECT_NE(h.find("<rect class=\"have\" data-hour=\"2026-11-26T08\" data-snapshots=\"1\""), std::string::npos);
  EXPECT_NE(h.find("<rect class=\"missing\" data-hour=\"2026-11-26T09\" data-snapshots=\"0\""), std::string::npos);
  EXPECT_NE(h.find("<rect class=\"have\" data-hour=\"2026-11-26T10\" data-snapshots=\"1\""), std::string::npos);
  EXPECT_NE(h.find("<rect class=\"future\" data-hour=\"2026-11-26T11\""), std::string::npos);
  EXPECT_NE(h.find("<rect class=\"missing\" data-hour=\"2026-11-25T23\""), std::string::npos);
  EXPECT_EQ(h.find("data-hour=\"2026-11-24T23\""), std::string::npos) << "two days only";
  EXPECT_NE(h.find("2 hours with a snapshot, 33 missing over 2 days"), std::string::npos);
  EXPECT_NE(h.find("loc&quot;al"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::daemon

namespace pgdr::daemon {
namespace {

TEST(DaemonDashboard, TrendsDrawPointsAgainstTheObjectiveAndResultsLinkToReports) {
  auto st = status();
  for (int i = 0; i < 3; ++i) {
    catalog::RunRecord d;
    d.id = 10 + i;
    d.kind = "drill";
    d.result = i == 2 ? "FAIL" : "PASS";
    d.started = at("2026-11-2" + std::to_string(3 + i) + "T05:00:00Z");
    d.rto_seconds = i == 2 ? 9000 : 600;  // the last one over the 2 h objective
    d.rpo_seconds = 5;
    st.runs.insert(st.runs.begin(), d);
  }
  std::string h = dashboard_html(config(), st, [](std::int64_t id) { return "/reports/" + std::to_string(id); });
  const auto rto = h.find("<svg class=\"trend rto\"");
  ASSERT_NE(rto, std::string::npos) << h;
  const std::string chart = h.substr(rto, h.find("</svg>", rto) - rto);
  EXPECT_NE(chart.find("<line class=\"objective\""), std::string::npos);
  EXPECT_NE(chart.find("<title>objective 2 h</title>"), std::string::npos);
  EXPECT_EQ(std::count(chart.begin(), chart.end(), '\n'), 0);
  std::size_t under = 0, over = 0;
  for (std::size_t p = 0; (p = chart.find("<circle class=\"under\"", p)) != std::string::npos; ++p) ++under;
  for (std::size_t p = 0; (p = chart.find("<circle class=\"over\"", p)) != std::string::npos; ++p) ++over;
  EXPECT_EQ(under, 2u);
  EXPECT_EQ(over, 1u);
  EXPECT_NE(chart.find("2026-11-25T05:00:00Z drill: 2.5 h"), std::string::npos) << chart;
  EXPECT_NE(h.find("<a href=\"/reports/12\">#12</a>"), std::string::npos);
  EXPECT_NE(h.find("last drill failed (started 2026-11-25T05:00:00Z, report /reports/12)"), std::string::npos);
  EXPECT_EQ(h.find("no RPO measured yet"), std::string::npos) << "drills carry an RPO too";
  EXPECT_NE(h.find("<svg class=\"trend rpo\""), std::string::npos);
}

}  // namespace
}  // namespace pgdr::daemon

namespace pgdr::daemon {
namespace {

// A repository created this morning: the heat map starts at its creation hour, with no cell of
// the days before (they showed as missing, a week of red for a new installation), and coverage
// counts the slots since then only.
TEST(DaemonDashboard, HeatMapAndCoverageStartAtTheRepositorysCreation) {
  auto st = status();
  st.repos[0].created = at("2026-11-26T07:40:00Z");
  std::string h = dashboard_html(config(), st, [](std::int64_t id) { return "/reports/" + std::to_string(id); });
  const auto first = h.find("data-hour=\"");
  ASSERT_NE(first, std::string::npos) << h;
  EXPECT_EQ(h.substr(first, 24), "data-hour=\"2026-11-26T07");
  EXPECT_EQ(h.find("data-hour=\"2026-11-26T06"), std::string::npos);
  EXPECT_EQ(h.find("data-hour=\"2026-11-25"), std::string::npos) << "no row before the creation day";
  EXPECT_NE(h.find("2 hours with a snapshot, 2 missing over 1 day (UTC), since the repository was created at "
                   "2026-11-26 07:00"),
            std::string::npos)
      << h;
  // 10:30 now, created 07:40: three slots expected (07:30-08:30 .. 09:30-10:30), two hold a snapshot.
  EXPECT_DOUBLE_EQ(coverage_ratio(st.repos[0], st.now), 2.0 / 3.0);
}

// One measured point is a chart too: its value is written beside it and its time once.
TEST(DaemonDashboard, ATrendOfOnePointIsReadable) {
  auto st = status();
  catalog::RunRecord m;
  m.id = 4;
  m.kind = "measure";
  m.result = "PASS";
  m.started = at("2026-11-26T10:20:00Z");
  m.rpo_seconds = 61.8;
  st.runs = {m};
  std::string h = dashboard_html(config(), st, [](std::int64_t id) { return "/reports/" + std::to_string(id); });
  const auto rpo = h.find("<svg class=\"trend rpo\"");
  ASSERT_NE(rpo, std::string::npos) << h;
  const std::string chart = h.substr(rpo, h.find("</svg>", rpo) - rpo);
  EXPECT_NE(chart.find(">measure 61.8 s</text>"), std::string::npos) << chart;
  EXPECT_NE(chart.find("r=\"4.5\""), std::string::npos) << chart;
  std::size_t times = 0;
  for (std::size_t p = 0; (p = chart.find(">11-26 10:20</text>", p)) != std::string::npos; ++p) ++times;
  EXPECT_EQ(times, 1u) << chart;
  EXPECT_EQ(h.find("max-width:60em"), std::string::npos) << "the page uses the whole width";
}

TEST(DaemonStatus, MetricsNameTheBuildAndHealthListsWarnings) {
  auto st = status();
  const std::string m = metrics_text(config(), st);
  EXPECT_NE(m.find("# TYPE pgdr_build_info gauge\npgdr_build_info{version=\"" PGDR_VERSION "\"} 1\n"), std::string::npos)
      << m;
  // Counters the daemon set to 0 at start are written with their 0.
  st.jobs.runs[{"backup", "ok"}] = 0;
  st.jobs.skipped["backup"] = 0;
  const std::string z = metrics_text(config(), st);
  EXPECT_NE(z.find("\npgdr_job_runs_total{job=\"backup\",result=\"ok\"} 0\n"), std::string::npos) << z;
  EXPECT_NE(z.find("\npgdr_job_skipped_total{job=\"backup\"} 0\n"), std::string::npos) << z;

  catalog::RunRecord v;
  v.id = 9;
  v.kind = "verify";
  v.repository = "loc\"al";
  v.result = "WARN";
  v.started = at("2026-11-26T10:00:00Z");
  v.report_json = R"({"checks":[{"name":"key","status":"PASS"},{"name":"coverage","status":"WARN"},)"
                  R"({"name":"size_anomalies","status":"WARN"}]})";
  st.runs = {v};
  st.repos[0].last_verify = v;
  EXPECT_TRUE(health_problems(config(), st).empty());
  auto w = health_warnings(st);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "last verify of repository 'loc\"al' warned (started 2026-11-26T10:00:00Z, report /reports/9): "
                  "coverage, size_anomalies");
  v.result = "FAIL";
  v.report_json = R"({"checks":[{"name":"wal_continuity","status":"FAIL"}]})";
  st.runs = {v};
  st.repos[0].last_verify = v;
  auto p = health_problems(config(), st);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "last verify of repository 'loc\"al' failed (started 2026-11-26T10:00:00Z, report /reports/9): "
                  "wal_continuity");
}

}  // namespace
}  // namespace pgdr::daemon

namespace pgdr::daemon {
namespace {

catalog::RunRecord verify_run(std::int64_t id, const std::string& repository, const std::string& result,
                              const std::string& report_json) {
  catalog::RunRecord v;
  v.id = id;
  v.kind = "verify";
  v.repository = repository;
  v.result = result;
  v.seconds = 4.5;
  v.started = at("2026-11-26T10:00:00Z");
  v.report_json = report_json;
  return v;
}

// Two repositories, one verified PASS and one FAIL: each has its own samples, labelled by
// repository, /health names the one that failed, and the dashboard shows both side by side. A
// repository never verified has no sample and says so on the page.
TEST(DaemonStatus, EachRepositorysNewestVerifyIsItsOwnResult) {
  auto st = status();
  st.repos[0].name = "local";
  st.repos.push_back(st.repos[0]);
  st.repos[1].name = "s3";
  st.repos.push_back(st.repos[0]);
  st.repos[2].name = "never";
  st.repos[0].last_verify = verify_run(20, "local", "PASS", R"({"checks":[{"name":"key","status":"PASS"}]})");
  st.repos[1].last_verify =
      verify_run(21, "s3", "FAIL", R"({"checks":[{"name":"key","status":"PASS"},{"name":"checksums","status":"FAIL"},)"
                                   R"({"name":"coverage","status":"SKIP"}]})");
  const std::string m = metrics_text(config(), st);
  for (const std::string& line : std::vector<std::string>{
           "# TYPE pgdr_last_verify_result gauge",
           "pgdr_last_verify_result{repo=\"local\"} 0",
           "pgdr_last_verify_result{repo=\"s3\"} 2",
           "pgdr_last_verify_duration_seconds{repo=\"local\"} 4.5",
           "pgdr_last_verify_timestamp_seconds{repo=\"s3\"} " +
               std::to_string(std::chrono::system_clock::to_time_t(at("2026-11-26T10:00:00Z")))})
    EXPECT_NE(m.find("\n" + line + "\n"), std::string::npos) << line << "\n" << m;
  EXPECT_EQ(m.find("pgdr_last_verify_result{repo=\"never\"}"), std::string::npos) << m;
  EXPECT_EQ(m.find("\npgdr_last_verify_result "), std::string::npos) << "every verify sample names its repository";

  auto p = health_problems(config(), st);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "last verify of repository 's3' failed (started 2026-11-26T10:00:00Z, report /reports/21): checksums");

  std::string h = dashboard_html(config(), st, [](std::int64_t id) { return "/reports/" + std::to_string(id); });
  auto row = [&](const std::string& repo) {
    auto at_row = h.find("<tr data-repo=\"" + repo + "\">");
    if (at_row == std::string::npos) return std::string();
    return h.substr(at_row, h.find("</tr>", at_row) - at_row);
  };
  EXPECT_NE(row("local").find(">PASS</td>"), std::string::npos) << h;
  EXPECT_NE(row("local").find("<a href=\"/reports/20\">#20</a>"), std::string::npos) << h;
  EXPECT_NE(row("s3").find(">FAIL</td>"), std::string::npos) << h;
  EXPECT_NE(row("s3").find(">checksums FAIL</td>"), std::string::npos) << h;
  EXPECT_NE(row("never").find("never verified"), std::string::npos) << h;
}

}  // namespace
}  // namespace pgdr::daemon
