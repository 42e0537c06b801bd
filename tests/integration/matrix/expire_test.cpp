// pgdr expire on a retention policy: four snapshots at fabricated times over three days, two kept;
// each kept snapshot restores to the state it had, and the oldest kept one recovers through the
// archive to the latest commit (no WAL it needs was removed).
#include <nlohmann/json.hpp>

#include "expire_fixture.h"
#include "matrix/majors.h"

namespace pgdr::test {
namespace {

class Expire : public OnMajor<ExpireTest> {};

TEST_P(Expire, KeptSnapshotsRestore) {
  write_config("[retention]\nhourly = 0\ndaily = 2\nweekly = 0\nmonthly = 0\nyearly = 0\nmin_age = \"1h\"\n"
               "repack_threshold = 0\n");
  pgdr_ok({"init"});
  create_schedule_tables();
  // Monday 2026-01-05 10:00, Tuesday 10:00, Wednesday 10:00 and 11:00 UTC; expire on Wednesday at
  // 13:00 keeps the newest of each of the last two days: #3 and #1.
  const SystemTime monday = *parse_iso8601("2026-01-05T10:00:00Z");
  const std::vector<SystemTime> times = {monday, monday + std::chrono::hours(24), monday + std::chrono::hours(48),
                                         monday + std::chrono::hours(49)};
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < times.size(); ++i) ids.push_back(step_and_backup_at(i, times[i]));
  cluster_->psql("UPDATE counter SET v = 100");
  archive_now();

  auto r = pgdr({"expire", "--json"}, {"PGDR_TEST_NOW=2026-01-07T13:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(r.out)["repositories"][0];
  ASSERT_EQ(report["snapshots"].size(), ids.size()) << report.dump(2);
  const std::vector<bool> keep = {false, true, false, true};
  for (std::size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(report["snapshots"][i]["keep"].get<bool>(), keep[i]) << report["snapshots"][i].dump();

  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0];
  std::vector<std::string> listed;
  for (const auto& s : info["snapshots"]) listed.push_back(s["id"]);
  EXPECT_EQ(listed, (std::vector<std::string>{ids[1], ids[3]}));
  EXPECT_EQ(restored_state(ids[1], false), state_after_step(1));
  EXPECT_EQ(restored_state(ids[3], false), state_after_step(3));
  EXPECT_EQ(restored_state(ids[1], true), "100:1200");
}

INSTANTIATE_TEST_SUITE_P(Majors, Expire, testing::ValuesIn(kMatrixMajors), major_name);

}  // namespace
}  // namespace pgdr::test
