#include "drill/fingerprint.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "../pg/wal_fixtures.h"
#include "core/error.h"
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

TEST(DrillReport, PhaseDetailsAreLabelledTablesNotJson) {
  nlohmann::json details = {{"dr_port", 5433},
                            {"notes", nlohmann::json::array()},
                            {"tables", {{{"table", "public.t<1>"}, {"verdict", "mismatch"}}}},
                            {"nested", {{"ok", true}, {"lines", {"a", "b"}}}}};
  nlohmann::json r = {{"phases", {{{"name", "restore"}, {"status", "PASS"}, {"seconds", 2.0}, {"details", details}}}},
                      {"rto", {{"components", {{"wal_replay", 1.0}, {"prepare", 0.5}}}}},
                      {"rto_seconds", 1.5}};
  std::string html = drill_html(r);
  EXPECT_EQ(html.find("{&quot;"), std::string::npos) << html;
  EXPECT_EQ(html.find("[&quot;"), std::string::npos) << html;
  EXPECT_NE(html.find("<th>dr port</th><td>5433</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<th>table</th><th>verdict</th>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>public.t&lt;1&gt;</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<th>ok</th><td>yes</td>"), std::string::npos) << html;
  // Components in phase order whatever the JSON's order, then their total.
  const auto prepare = html.find("<td>prepare</td>"), replay = html.find("<td>WAL replay</td>"),
             total = html.find("<th>total (RTO)</th><th>1.5 s</th>");
  EXPECT_LT(prepare, replay);
  EXPECT_LT(replay, total);
  EXPECT_NE(total, std::string::npos) << html;
  EXPECT_NE(html.find("seconds since the drill started"), std::string::npos);
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

TEST(Measure, FindsTheNewestCommitInAnArchivedSegmentWithTheWalReader) {
  // Real segments of every supported major (tests/unit/pg/data/wal): the newest commit of the last
  // one is the server's pg_last_committed_xact().
  for (int major : {14, 15, 16, 17, 18}) {
    const auto& f = pg::testing::wal_fixture(major);
    const auto& last = f.segments.back();
    auto commit = newest_commit_in_segment(last.name, last.bytes, "", {}, 1u << 20);
    ASSERT_TRUE(commit.has_value()) << major;
    EXPECT_EQ(commit->timestamp_us, static_cast<std::int64_t>(f.expected_u64("last_commit_timestamp_us"))) << major;
  }
}

TEST(Measure, ACommitThatCrossesIntoTheNextSegmentIsFoundWithIt) {
  // The first segment alone, and again with the next one to finish the record crossing into it:
  // the crossing record is counted only in the second read, and neither read fails.
  const auto& f = pg::testing::wal_fixture(15);
  const auto& a = f.segments[0];
  const auto& b = f.segments[1];
  auto alone = newest_commit_in_segment(a.name, a.bytes, "", {}, 1u << 20);
  auto joined = newest_commit_in_segment(a.name, a.bytes, b.name, b.bytes, 1u << 20);
  ASSERT_TRUE(alone.has_value());
  ASSERT_TRUE(joined.has_value());
  EXPECT_GE(joined->timestamp_us, alone->timestamp_us);
}

TEST(Measure, NoCommitInASegmentIsNoValue) {
  // A segment whose WAL ends right after its long header, as an idle server's would hold little more.
  const auto& f = pg::testing::wal_fixture(14);
  Bytes seg = f.segments[0].bytes;
  std::fill(seg.begin() + 40, seg.end(), 0);
  EXPECT_FALSE(newest_commit_in_segment(f.segments[0].name, seg, "", {}, 1u << 20).has_value());
}

TEST(Measure, ADamagedSegmentIsACorruptError) {
  const auto& f = pg::testing::wal_fixture(16);
  Bytes seg = f.segments[0].bytes;
  seg[8192 + 8] ^= 0x01;  // the second page's address
  try {
    newest_commit_in_segment(f.segments[0].name, seg, "", {}, 1u << 20);
    FAIL() << "a damaged segment was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  }
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
