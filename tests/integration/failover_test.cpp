// A standby built from the repository follows the archive; pgdr failover promotes it and its
// measured switchover time agrees with a stopwatch held by the test.
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

class FailoverTest : public PgdrTest {
 protected:
  PgClusterOptions cluster_options() override {
    auto o = archiving({});
    o.settings.push_back("archive_timeout = 1");
    return o;
  }
};

TEST_F(FailoverTest, StandbyFollowsTheArchiveAndPromotesWithMeasuredTime) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE orders (id int PRIMARY KEY, note text)");
  backup();
  std::string dir = work_->file("standby");
  pgdr_ok({"restore", "--standby", "--target-dir", dir});
  PgCluster standby(PgCluster::Adopt{dir}, with_passphrase({}));
  EXPECT_EQ(standby.psql("SELECT pg_is_in_recovery()"), "t");

  // Writes on the primary reach the standby through the archive (archive_timeout = 1 s).
  cluster_->psql("INSERT INTO orders SELECT g, 'before failover' FROM generate_series(1, 500) g");
  cluster_->psql("SELECT pg_switch_wal()");
  bool caught_up = false;
  for (int i = 0; i < 600 && !caught_up; ++i) {
    caught_up = standby.psql("SELECT count(*) FROM orders") == "500";
    if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(caught_up) << "the standby did not replay the archived WAL";

  cluster_->kill9();
  auto t0 = std::chrono::steady_clock::now();
  auto r = pgdr({"failover", "--json", "--standby-conninfo", standby.conninfo()});
  double stopwatch = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  double reported = j["switchover_seconds"];
  EXPECT_GT(reported, 0.0);
  EXPECT_LE(reported, stopwatch);
  EXPECT_LT(stopwatch - reported, 1.0) << "stopwatch " << stopwatch << " s, reported " << reported << " s";
  EXPECT_EQ(j["timeline"], "2");
  standby.psql("INSERT INTO orders VALUES (501, 'after failover')");
  EXPECT_EQ(standby.psql("SELECT count(*) FROM orders"), "501");

  // Promoting what is no longer a standby is refused with a clear message.
  auto again = pgdr({"failover", "--standby-conninfo", standby.conninfo()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("is not a standby"), std::string::npos) << again.err;
}

}  // namespace
}  // namespace pgdr::test
