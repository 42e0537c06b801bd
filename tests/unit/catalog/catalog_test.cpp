#include "catalog/catalog.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/error.h"
#include "../storage/temp_dir.h"

namespace pgdr::catalog {
namespace {

TEST(Catalog, RecordsRunsNewestFirstByKindAndCluster) {
  test::TempDir dir;
  auto path = dir.path() + "/state/pgdr.db";
  {
    Catalog c = Catalog::open(path);
    RunRecord r;
    r.kind = "drill";
    r.cluster = "shop";
    r.started = SystemTime(std::chrono::seconds(1000));
    r.seconds = 12.5;
    r.result = "PASS";
    r.rto_seconds = 11.25;
    r.rpo_seconds = 3.5;
    r.report_json = R"({"result":"PASS"})";
    EXPECT_GT(c.record_run(r), 0);
    r.started = SystemTime(std::chrono::seconds(2000));
    r.result = "FAIL";
    r.rpo_seconds.reset();
    c.record_run(r);
    r.kind = "verify";
    c.record_run(r);
    r.kind = "drill";
    r.cluster = "other";
    c.record_run(r);
  }
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Catalog c = Catalog::open(path);
  auto drills = c.runs("drill", "shop", 10);
  ASSERT_EQ(drills.size(), 2u);
  EXPECT_EQ(drills[0].result, "FAIL");
  EXPECT_FALSE(drills[0].rpo_seconds.has_value());
  EXPECT_EQ(drills[1].result, "PASS");
  EXPECT_DOUBLE_EQ(*drills[1].rto_seconds, 11.25);
  EXPECT_DOUBLE_EQ(*drills[1].rpo_seconds, 3.5);
  EXPECT_EQ(drills[1].report_json, R"({"result":"PASS"})");
  EXPECT_EQ(drills[1].started, SystemTime(std::chrono::seconds(1000)));
  EXPECT_EQ(c.runs("", "", 10).size(), 4u);
  EXPECT_EQ(c.runs("", "", 1).size(), 1u);
  EXPECT_EQ(c.runs("verify", "", 10).size(), 1u);
}

TEST(Catalog, RemembersAndForgetsVerifiedObjects) {
  test::TempDir dir;
  Catalog c = Catalog::open(dir.path() + "/c.db");
  EXPECT_FALSE(c.verified_at("local", "packs/ab/abcd").has_value());
  SystemTime t(std::chrono::milliseconds(1'700'000'000'123));
  c.mark_verified("local", {"packs/ab/abcd", "wal/1/x"}, t);
  EXPECT_EQ(c.verified_at("local", "packs/ab/abcd"), t);
  EXPECT_FALSE(c.verified_at("s3", "packs/ab/abcd").has_value());
  c.forget_verified("local", {"packs/ab/abcd"});
  EXPECT_FALSE(c.verified_at("local", "packs/ab/abcd").has_value());
  EXPECT_EQ(c.verified_at("local", "wal/1/x"), t);
}

TEST(Catalog, UnwritablePlaceIsAClearError) {
  test::TempDir dir;
  std::string blocker = dir.path() + "/blocker";
  FILE* f = fopen(blocker.c_str(), "w");
  fclose(f);
  try {
    Catalog::open(blocker + "/c.db");
    FAIL() << "opened a catalog under a regular file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(blocker), std::string::npos) << e.what();
  }
}

TEST(Catalog, FindsTheNewestRunOfEachRepository) {
  test::TempDir dir;
  Catalog c = Catalog::open(dir.path() + "/c.db");
  auto record = [&](const std::string& repository, int second, const std::string& result) {
    RunRecord r;
    r.kind = "verify";
    r.cluster = "shop";
    r.repository = repository;
    r.started = SystemTime(std::chrono::seconds(second));
    r.result = result;
    r.report_json = "{}";
    return c.record_run(r);
  };
  record("local", 1000, "PASS");
  const auto newest_local = record("local", 3000, "FAIL");
  const auto s3 = record("s3", 2000, "PASS");
  record("", 4000, "PASS");
  auto local = c.newest_run("verify", "shop", "local");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->id, newest_local);
  EXPECT_EQ(local->result, "FAIL");
  EXPECT_EQ(local->repository, "local");
  EXPECT_EQ(c.newest_run("verify", "shop", "s3")->id, s3);
  EXPECT_FALSE(c.newest_run("verify", "shop", "other"));
  EXPECT_FALSE(c.newest_run("verify", "elsewhere", "local"));
  EXPECT_FALSE(c.newest_run("measure", "shop", "local"));
  EXPECT_EQ(c.runs("verify", "shop", 1)[0].repository, "");
}

// A catalog written by a pgdr before runs had a repository: opened here, each run takes its
// repository from its report, and keeps every other field.
TEST(Catalog, AnOlderCatalogGainsEachRunsRepositoryFromItsReport) {
  test::TempDir dir;
  const std::string path = dir.path() + "/old.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, cluster TEXT NOT NULL,
  started_ms INTEGER NOT NULL, seconds REAL NOT NULL, result TEXT NOT NULL, rto_seconds REAL, rpo_seconds REAL,
  report TEXT NOT NULL);
CREATE INDEX runs_by_kind ON runs(kind, cluster, started_ms);
CREATE TABLE verified_objects (repo TEXT NOT NULL, object TEXT NOT NULL, verified_ms INTEGER NOT NULL,
  PRIMARY KEY (repo, object)) WITHOUT ROWID;
PRAGMA user_version = 1;
INSERT INTO runs (kind, cluster, started_ms, seconds, result, report)
  VALUES ('verify', 'shop', 1000, 2.5, 'FAIL', '{"repository":"s3","result":"FAIL"}'),
         ('backup', 'shop', 2000, 1, 'OK', '{"kind":"backup"}'),
         ('measure', 'shop', 3000, 1, 'PASS', 'not json');
)sql";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  for (int open = 0; open < 2; ++open) {
    Catalog c = Catalog::open(path);
    auto runs = c.runs("", "shop", 10);
    ASSERT_EQ(runs.size(), 3u);
    EXPECT_EQ(runs[2].repository, "s3");
    EXPECT_EQ(runs[2].result, "FAIL");
    EXPECT_DOUBLE_EQ(runs[2].seconds, 2.5);
    EXPECT_EQ(runs[1].repository, "");
    EXPECT_EQ(runs[0].repository, "");
    EXPECT_EQ(c.newest_run("verify", "shop", "s3")->id, runs[2].id);
  }
}

}  // namespace
}  // namespace pgdr::catalog
