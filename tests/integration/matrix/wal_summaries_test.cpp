// The change map from a 17+ server's own WAL summaries (pg/server_summaries.h) over a workload
// between two checkpoints: it holds every block and limit pg_wal_summary_contents() lists for that
// stretch, read from the data directory or through the connection alike; it waits for the
// summarizer and gives up at its timeout; and summarize_wal off, a damaged summary or a missing one
// each give no map with the reason.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "harness/pg_cluster.h"
#include "matrix/majors.h"
#include "pg/connection.h"
#include "pg/server_summaries.h"

namespace pgdr::test {
namespace {

using namespace std::chrono_literals;

std::vector<int> summarizing_majors() {
  std::vector<int> out;
  for (int m : kMatrixMajors)
    if (m >= 17) out.push_back(m);
  return out;
}

class WalSummaries : public testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    PgClusterOptions o;
    o.major = GetParam();
    // autovacuum off: no vacuum of its own between the checkpoints the test places.
    o.settings = {"summarize_wal = on", "autovacuum = off", "checkpoint_timeout = 1h", "max_wal_size = 1GB"};
    cluster_ = std::make_unique<PgCluster>(o);
  }

  // A checkpoint's redo point, where the summarizer ends a file, as a backup's start LSN is.
  pg::TimelinePoint checkpoint() {
    const std::string row = cluster_->psql("CHECKPOINT; SELECT timeline_id || ' ' || redo_lsn FROM pg_control_checkpoint()");
    const auto space = row.find(' ');
    return {static_cast<std::uint32_t>(std::stoul(row.substr(0, space))), *pg::parse_lsn(row.substr(space + 1))};
  }

  std::vector<pg::TimelineRange> path(const pg::TimelinePoint& from, const pg::TimelinePoint& to) {
    pg::TimelinePath p = pg::find_timeline_path(from, to, pg::TimelineHistory{});
    EXPECT_TRUE(p.ranges) << p.reason;
    return p.ranges.value_or(std::vector<pg::TimelineRange>{});
  }

  pg::ServerSummaries read(const std::vector<pg::TimelineRange>& ranges, bool local,
                           std::chrono::milliseconds timeout = 60s) {
    pg::Connection conn(cluster_->conninfo());
    return pg::read_server_summaries(conn, {ranges, local ? cluster_->data_dir() : std::string(), timeout});
  }

  void workload() {
    cluster_->psql(
        "CREATE TABLE items (id int PRIMARY KEY, name text, pad text);"
        "INSERT INTO items SELECT g, 'item ' || g, repeat('x', 100) FROM generate_series(1, 20000) g;"
        "CREATE TABLE shrink AS SELECT g FROM generate_series(1, 30000) g;"
        "CREATE TABLE gone AS SELECT g FROM generate_series(1, 1000) g;"
        "UPDATE items SET name = name || '!' WHERE id % 101 = 0;"
        "CREATE INDEX items_name ON items (name);"
        "TRUNCATE gone;"
        "DELETE FROM shrink WHERE g > 10000;"
        "VACUUM shrink;");
  }

  std::string summaries_dir() const { return cluster_->data_dir() + "/pg_wal/summaries"; }

  std::unique_ptr<PgCluster> cluster_;
};

TEST_P(WalSummaries, MapHoldsEveryBlockTheServerSummarized) {
  cluster_->psql("CREATE TABLE before_start (v int); INSERT INTO before_start SELECT generate_series(1, 100)");
  const pg::TimelinePoint from = checkpoint();
  workload();
  const pg::TimelinePoint to = checkpoint();
  const auto ranges = path(from, to);

  const pg::ServerSummaries local = read(ranges, true);
  ASSERT_TRUE(local.map) << local.reason;
  EXPECT_EQ(local.reason, "");
  ASSERT_FALSE(local.files.empty());
  EXPECT_GT(local.bytes_read, 0u);

  // Every row of every summary the server has over [from, to), as its own SQL reads them.
  const std::string rows = cluster_->psql(
      "SELECT c.relfilenode, c.reltablespace, c.reldatabase, c.relforknumber, c.relblocknumber, c.is_limit_block "
      "FROM pg_available_wal_summaries() s, "
      "LATERAL pg_wal_summary_contents(s.tli, s.start_lsn, s.end_lsn) c "
      "WHERE s.tli = " + std::to_string(from.timeline) + " AND s.end_lsn > '" + pg::to_string(from.lsn) +
      "' AND s.start_lsn < '" + pg::to_string(to.lsn) + "'");
  std::istringstream lines(rows);
  std::size_t blocks = 0, limits = 0;
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> v;
    std::istringstream fields(line);
    for (std::string f; std::getline(fields, f, '|');) v.push_back(f);
    ASSERT_EQ(v.size(), 6u) << line;
    const pg::RelationFork fork{{static_cast<std::uint32_t>(std::stoul(v[1])), static_cast<std::uint32_t>(std::stoul(v[2])),
                                 static_cast<std::uint32_t>(std::stoul(v[0]))},
                                static_cast<pg::ForkNumber>(std::stoi(v[3]))};
    const auto block = static_cast<std::uint32_t>(std::stoul(v[4]));
    if (v[5] == "t") {
      ++limits;
      ASSERT_TRUE(local.map->limit(fork).has_value()) << line;
      EXPECT_LE(*local.map->limit(fork), block) << line;
    } else {
      ++blocks;
      std::vector<std::uint32_t> found;
      local.map->blocks_in(fork, block, block + 1, found);
      EXPECT_EQ(found.size(), 1u) << line;
    }
  }
  EXPECT_GT(blocks, 500u);
  EXPECT_GT(limits, 5u);

  // What the workload did is there: items' blocks, shrink cut to its new length by VACUUM.
  const std::uint32_t db = static_cast<std::uint32_t>(std::stoul(cluster_->psql("SELECT oid FROM pg_database WHERE datname = 'postgres'")));
  auto fork_of = [&](const std::string& table) {
    return pg::RelationFork{{pg::kDefaultTablespaceOid, db,
                             static_cast<std::uint32_t>(std::stoul(cluster_->psql("SELECT pg_relation_filenode('" + table + "')")))},
                            pg::ForkNumber::main};
  };
  std::vector<std::uint32_t> items_blocks;
  local.map->blocks_in(fork_of("items"), 0, 0xFFFFFFFF, items_blocks);
  EXPECT_GT(items_blocks.size(), 100u);
  EXPECT_EQ(local.map->limit(fork_of("shrink")), 0u);  // created after from: the smallest limit wins
  // A table untouched since before from is not in the map at all.
  std::vector<std::uint32_t> untouched;
  local.map->blocks_in(fork_of("before_start"), 0, 0xFFFFFFFF, untouched);
  EXPECT_TRUE(untouched.empty());
  EXPECT_EQ(local.map->limit(fork_of("before_start")), std::nullopt);

  // Through the connection (pg_available_wal_summaries, pg_read_binary_file): the same files, the same map.
  const pg::ServerSummaries remote = read(ranges, false);
  ASSERT_TRUE(remote.map) << remote.reason;
  EXPECT_EQ(remote.files, local.files);
  EXPECT_EQ(remote.bytes_read, local.bytes_read);
  EXPECT_TRUE(*remote.map == *local.map);
}

// A promotion between the two snapshots: the path crosses from timeline 1 to 2 at the switch point,
// and the map takes each stretch from its own timeline's summaries. The server is promoted in
// place (restarted with standby.signal over its own pg_wal, then pg_promote()), the way a
// standby of it would be.
TEST_P(WalSummaries, MapAcrossATimelineSwitch) {
  const pg::TimelinePoint from = checkpoint();
  ASSERT_EQ(from.timeline, 1u);
  cluster_->psql("CREATE TABLE before_switch AS SELECT g FROM generate_series(1, 20000) g");
  cluster_->stop();
  std::ofstream(cluster_->data_dir() + "/standby.signal").close();
  cluster_->start();
  ASSERT_EQ(cluster_->psql("SELECT pg_promote()"), "t");
  cluster_->psql("CREATE TABLE after_switch AS SELECT g FROM generate_series(1, 20000) g");
  const pg::TimelinePoint to = checkpoint();
  ASSERT_EQ(to.timeline, 2u);

  std::ifstream in(cluster_->data_dir() + "/pg_wal/00000002.history");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const pg::TimelineHistory history = pg::parse_timeline_history(text, 2);
  ASSERT_EQ(history.switches.size(), 1u) << text;
  const pg::TimelinePath p = pg::find_timeline_path(from, to, history);
  ASSERT_TRUE(p.ranges) << p.reason;
  ASSERT_EQ(p.ranges->size(), 2u);
  EXPECT_EQ(p.ranges->at(0), (pg::TimelineRange{1, from.lsn, history.switches[0].at}));
  EXPECT_EQ(p.ranges->at(1), (pg::TimelineRange{2, history.switches[0].at, to.lsn}));

  const pg::ServerSummaries got = read(*p.ranges, true);
  ASSERT_TRUE(got.map) << got.reason;
  std::set<std::uint32_t> timelines;
  for (const std::string& f : got.files) timelines.insert(pg::parse_wal_summary_file_name(f)->timeline);
  EXPECT_EQ(timelines, (std::set<std::uint32_t>{1, 2}));
  const std::uint32_t db = static_cast<std::uint32_t>(std::stoul(cluster_->psql("SELECT oid FROM pg_database WHERE datname = 'postgres'")));
  for (const std::string table : {"before_switch", "after_switch"}) {
    const pg::RelationFork fork{{pg::kDefaultTablespaceOid, db,
                                 static_cast<std::uint32_t>(std::stoul(cluster_->psql("SELECT pg_relation_filenode('" + table + "')")))},
                                pg::ForkNumber::main};
    // Every block that holds a row; bulk extension adds empty pages that no record names, which
    // the limit of 0 (created in the stretch) covers.
    std::istringstream with_rows(cluster_->psql("SELECT DISTINCT (ctid::text::point)[0]::bigint FROM " + table));
    std::vector<std::uint32_t> found;
    got.map->blocks_in(fork, 0, 0xFFFFFFFF, found);
    std::size_t checked = 0;
    for (std::string b; std::getline(with_rows, b); ++checked)
      EXPECT_TRUE(std::binary_search(found.begin(), found.end(), static_cast<std::uint32_t>(std::stoul(b))))
          << table << " block " << b;
    EXPECT_GT(checked, 50u) << table;
    EXPECT_EQ(got.map->limit(fork), 0u) << table;
  }

  // A path that stays on timeline 1 past the switch point is one that timeline 2 never had.
  const pg::TimelinePath past = pg::find_timeline_path({1, pg::Lsn{history.switches[0].at.value + 8}}, to, history);
  EXPECT_FALSE(past.ranges);
  // Timeline 1's summaries end at the switch: a stretch of timeline 1 beyond it has none.
  const pg::ServerSummaries beyond = read({{1, from.lsn, to.lsn}}, true, 2s);
  EXPECT_FALSE(beyond.map);
  EXPECT_TRUE(beyond.reason.starts_with("no WAL summary on timeline 1 covers ")) << beyond.reason;
}

// The path ends past the newest summary: the reading waits until a checkpoint lets the summarizer
// write one, and without one it gives up at its timeout.
TEST_P(WalSummaries, WaitsForTheSummarizer) {
  const pg::TimelinePoint from = checkpoint();
  workload();
  const pg::TimelinePoint to{from.timeline, *pg::parse_lsn(cluster_->psql("SELECT pg_current_wal_insert_lsn()"))};
  const auto ranges = path(from, to);

  const auto started = std::chrono::steady_clock::now();
  const pg::ServerSummaries early = read(ranges, true, 700ms);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 700ms);
  EXPECT_FALSE(early.map);
  EXPECT_TRUE(early.reason.starts_with("WAL summarization reached ")) << early.reason;
  EXPECT_TRUE(early.reason.ends_with(", not " + pg::to_string(to.lsn) + " on timeline " + std::to_string(to.timeline) +
                                     ", within 700 ms"))
      << early.reason;

  auto waiting = std::async(std::launch::async, [&] { return read(ranges, true, 60s); });
  ASSERT_EQ(waiting.wait_for(1500ms), std::future_status::timeout) << "no wait: " << waiting.get().reason;
  checkpoint();
  ASSERT_EQ(waiting.wait_for(60s), std::future_status::ready);
  const pg::ServerSummaries late = waiting.get();
  ASSERT_TRUE(late.map) << late.reason;
  EXPECT_GT(late.map->block_count(), 100u);
}

TEST_P(WalSummaries, NoMapWithItsReason) {
  const pg::TimelinePoint from = checkpoint();
  workload();
  const pg::TimelinePoint to = checkpoint();
  const auto ranges = path(from, to);
  const pg::ServerSummaries good = read(ranges, true);
  ASSERT_TRUE(good.map) << good.reason;
  ASSERT_FALSE(good.files.empty());
  const std::string damaged = summaries_dir() + "/" + good.files.front();

  // A flipped byte of a summary file: its CRC names it. Changed in place, so that the server's
  // user still owns it and pg_read_binary_file() reads it.
  auto flip = [&] {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(4 + 16);  // the first entry's limit block: well formed, so only the CRC can tell
    char c = 0;
    f.get(c);
    f.seekp(4 + 16);
    f.put(static_cast<char>(c ^ 0x01));
    ASSERT_TRUE(f.good());
  };
  flip();
  pg::ServerSummaries r = read(ranges, true);
  EXPECT_FALSE(r.map);
  EXPECT_TRUE(r.reason.starts_with("WAL summary " + damaged + ": CRC-32C mismatch (stored ")) << r.reason;
  r = read(ranges, false);
  EXPECT_FALSE(r.map);
  EXPECT_TRUE(r.reason.starts_with("WAL summary pg_wal/summaries/" + good.files.front() +
                                   " on the server: CRC-32C mismatch (stored "))
      << r.reason;
  flip();
  ASSERT_TRUE(read(ranges, true).map);

  // Gone (as wal_summary_keep_time removes them): a gap where it was. Moved aside under a name
  // that is not a summary's, and back.
  std::filesystem::rename(damaged, damaged + ".aside");
  const auto name = *pg::parse_wal_summary_file_name(good.files.front());
  const pg::Lsn first_missing = std::max(name.start, from.lsn);
  const std::string gap = "no WAL summary on timeline " + std::to_string(from.timeline) + " covers " +
                          pg::to_string(first_missing) + " (summaries are needed from " + pg::to_string(from.lsn) +
                          " to " + pg::to_string(to.lsn) + ")";
  r = read(ranges, true);
  EXPECT_FALSE(r.map);
  EXPECT_EQ(r.reason, gap);
  r = read(ranges, false);
  EXPECT_FALSE(r.map);
  EXPECT_EQ(r.reason, gap);
  std::filesystem::rename(damaged + ".aside", damaged);
  ASSERT_TRUE(read(ranges, true).map);

  // summarize_wal turned off.
  cluster_->psql("ALTER SYSTEM SET summarize_wal = off; SELECT pg_reload_conf()");
  for (int i = 0; i < 100 && cluster_->psql("SHOW summarize_wal") != "off"; ++i) std::this_thread::sleep_for(50ms);
  r = read(ranges, true);
  EXPECT_FALSE(r.map);
  EXPECT_EQ(r.reason, "summarize_wal is off on the server");
  EXPECT_TRUE(r.files.empty());
}

INSTANTIATE_TEST_SUITE_P(Majors, WalSummaries, testing::ValuesIn(summarizing_majors()), major_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WalSummaries);

}  // namespace
}  // namespace pgdr::test
