#include "drill/fingerprint.h"

#include <gtest/gtest.h>

#include "core/check_status.h"
#include "drill/drill_report.h"
#include "measure/measure.h"

namespace pgdr::drill {
namespace {

TEST(Fingerprint, AddsDecimalsBeyondSixtyFourBits) {
  EXPECT_EQ(add_decimal("0", "0"), "0");
  EXPECT_EQ(add_decimal("999", "1"), "1000");
  EXPECT_EQ(add_decimal("18446744073709551615", "18446744073709551615"), "36893488147419103230");
}

TEST(Fingerprint, ExtendsXidsWithTheEpochOfTheNextOne) {
  const std::uint64_t next = (std::uint64_t{3} << 32) | 100;
  EXPECT_EQ(full_xid(90, next), (std::uint64_t{3} << 32) | 90);
  // A 32-bit xid above next's low half belongs to the previous epoch.
  EXPECT_EQ(full_xid(0xFFFFFF00u, next), (std::uint64_t{2} << 32) | 0xFFFFFF00u);
  EXPECT_EQ(full_xid(50, 100), 50u);
}

DatabaseFingerprint source_with(std::map<std::string, TableFingerprint> tables, std::uint64_t next = 1000) {
  DatabaseFingerprint fp;
  fp.schema = {"column public.t (r) id integer"};
  fp.tables = std::move(tables);
  fp.next_xid = next;
  fp.recent_window = 500;
  return fp;
}

TableFingerprint table(RowSum old_rows, std::map<std::uint64_t, RowSum> recent = {}) {
  TableFingerprint t;
  t.old_rows = old_rows;
  t.recent = std::move(recent);
  return t;
}

TEST(Fingerprint, IdenticalAtTheRecoveryPoint) {
  auto src = source_with({{"public.t", table({10, "100"}, {{900, {2, "20"}}})}});
  auto copy = source_with({{"public.t", table({12, "120"})}});
  auto cmp = compare_databases(src, copy, 950);
  ASSERT_EQ(cmp.tables.size(), 1u);
  EXPECT_EQ(cmp.tables[0].verdict, TableVerdict::identical);
  EXPECT_FALSE(cmp.failed());
}

TEST(Fingerprint, RowsWrittenAfterThePointAreLossNotCorruption) {
  // Rows of xid 960 came after the copy's next xid 950: lost, and the rest matches.
  auto src = source_with({{"public.t", table({10, "100"}, {{960, {3, "30"}}})}});
  auto copy = source_with({{"public.t", table({10, "100"})}});
  auto cmp = compare_databases(src, copy, 950);
  EXPECT_EQ(cmp.tables[0].verdict, TableVerdict::changed_after_point);
  EXPECT_FALSE(cmp.failed());
}

TEST(Fingerprint, UpdatesAfterThePointCannotBeComparedAndDoNotFail) {
  // An update after the point replaced a row version the copy still has.
  auto src = source_with({{"public.t", table({9, "90"}, {{960, {1, "77"}}})}});
  auto copy = source_with({{"public.t", table({10, "100"})}});
  auto cmp = compare_databases(src, copy, 950);
  EXPECT_EQ(cmp.tables[0].verdict, TableVerdict::changed_after_point);
  EXPECT_FALSE(cmp.failed());
}

TEST(Fingerprint, DifferenceWithoutLaterWritesIsAMismatchNamed) {
  auto src = source_with({{"public.t", table({10, "100"})}});
  auto copy = source_with({{"public.t", table({10, "101"})}});
  auto cmp = compare_databases(src, copy, 950);
  EXPECT_EQ(cmp.tables[0].verdict, TableVerdict::mismatch);
  EXPECT_NE(cmp.tables[0].detail.find("contents differ"), std::string::npos);
  EXPECT_TRUE(cmp.failed());
}

TEST(Fingerprint, UnreadableMissingAndSchemaDifferencesFail) {
  auto src = source_with({{"public.t", table({1, "1"})}, {"public.u", table({1, "1"})}});
  TableFingerprint broken;
  broken.error = "invalid page in block 1";
  auto copy = source_with({{"public.t", broken}});
  copy.schema.insert("index CREATE INDEX extra ON public.t (id)");
  auto cmp = compare_databases(src, copy, 950);
  EXPECT_TRUE(cmp.failed());
  EXPECT_EQ(cmp.schema_only_in_copy.size(), 1u);
  EXPECT_EQ(cmp.tables[0].verdict, TableVerdict::unreadable);
  EXPECT_EQ(cmp.tables[1].verdict, TableVerdict::missing);
}

TEST(Fingerprint, LossBeyondTheCapturedWindowIsNotComparable) {
  // The copy's next xid (100) lies below the window the source kept apart (1000 - 500).
  auto src = source_with({{"public.t", table({10, "100"}, {{960, {1, "5"}}})}});
  auto copy = source_with({{"public.t", table({8, "80"})}});
  auto cmp = compare_databases(src, copy, 100);
  EXPECT_EQ(cmp.tables[0].verdict, TableVerdict::not_comparable);
  EXPECT_FALSE(cmp.failed());
}

TEST(DrillReport, ExitCodesFollowTheMonitoringConvention) {
  EXPECT_EQ(check_exit_code("PASS"), 0);
  EXPECT_EQ(check_exit_code("WARN"), 1);
  EXPECT_EQ(check_exit_code("FAIL"), 2);
}

TEST(DrillReport, HtmlIsSelfContainedAndEscapes) {
  nlohmann::json r = {{"result", "FAIL"},
                      {"cluster", "shop<script>"},
                      {"snapshot", "s1"},
                      {"objectives", {{"rto_seconds", 10}, {"rpo_seconds", 5}}},
                      {"rto_seconds", 12.5},
                      {"rpo_seconds", 1.0},
                      {"rto", {{"status", "FAIL"}, {"components", {{"restore", 10.0}}}}},
                      {"rpo", {{"status", "PASS"}}},
                      {"phases", {{{"name", "prepare"}, {"status", "PASS"}, {"seconds", 1.0}, {"details", nlohmann::json::object()}}}},
                      {"recommendations", {"restore is slow"}}};
  std::string html = drill_html(r);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("shop&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(drill_summary(r).find("RTO 12.5 s"), std::string::npos);
}

TEST(DrillReport, PartialReportsRenderWithoutTheMissingFields) {
  // An interrupted drill, or a report from another version, lacks fields: rendering says "unknown".
  nlohmann::json r = {{"result", "FAIL"}, {"phases", {{{"name", "prepare"}, {"status", "FAIL"}, {"seconds", 0.5}}}}};
  EXPECT_NE(drill_summary(r).find("RTO unknown"), std::string::npos) << drill_summary(r);
  EXPECT_NE(drill_html(r).find("prepare"), std::string::npos);
  EXPECT_NO_THROW(drill_summary(nlohmann::json::object()));
  EXPECT_NO_THROW(drill_html(nlohmann::json::object()));
}

}  // namespace
}  // namespace pgdr::drill

namespace pgdr::measure {
namespace {

TEST(Measure, FindsTheNewestCommitInWaldumpOutput) {
  std::string out =
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/0155A6E0, prev 0/0155A6A8, desc: COMMIT "
      "2026-11-26 02:27:03.123456 UTC\n"
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        736, lsn: 0/0155A7E0, prev 0/0155A6E0, desc: COMMIT "
      "2026-11-26 02:27:04.500000 UTC; inval msgs: catcache 7\n";
  auto t = newest_commit_in_waldump(out);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(iso8601_ms(*t), "2026-11-26T02:27:04.500Z");
  EXPECT_FALSE(newest_commit_in_waldump("rmgr: Heap desc: INSERT off 3").has_value());
}

TEST(Measure, ForecastScalesTheMeasuredThroughputs) {
  nlohmann::json drill = {
      {"started_at", "2026-11-26T02:00:00.000Z"},
      {"rto", {{"components", {{"prepare", 1.0}, {"restore", 10.0}, {"startup", 2.0}, {"wal_replay", 4.0}, {"checks", 1.0}}}}},
      {"phases",
       {{{"name", "restore"}, {"details", {{"bytes", 1e9}, {"snapshot_start_lsn", "0/1000000"}}}},
        {{"name", "measure"}, {"details", {{"copy_wal_lsn", "0/5000000"}}}}}}};
  std::string how;
  // 2 GB at 100 MB/s = 20 s; 128 MiB of WAL at 16 MiB/s (64 MiB in 4 s) = 8 s; fixed 4 s.
  auto f = forecast_rto(drill, 2e9, 128.0 * 1024 * 1024, &how);
  ASSERT_TRUE(f.has_value());
  EXPECT_NEAR(*f, 20.0 + 8.0 + 4.0, 1e-6);
  EXPECT_NE(how.find("restore"), std::string::npos);
  EXPECT_FALSE(forecast_rto(nlohmann::json::object(), 1, 1, nullptr).has_value());
}

}  // namespace
}  // namespace pgdr::measure
