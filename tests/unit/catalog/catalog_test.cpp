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

}  // namespace
}  // namespace pgdr::catalog
