#include "backup/server_facts.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace pgdr::backup {
namespace {

ServerFacts primary_of(int version_num) {
  ServerFacts f;
  f.version_num = version_num;
  f.data_directory = "/srv/pg";
  f.wal_segment_bytes = 16u << 20;
  f.system_identifier = "7312345678901234567";
  f.wal_level = "replica";
  return f;
}

std::string refusal(const ServerFacts& f) {
  try {
    require_backup_possible(f, "host=db");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::postgres);
    return e.what();
  }
  return "";
}

TEST(ServerFacts, EverySupportedMajorCanBeBackedUp) {
  for (int v : {140023, 150014, 160014, 170010, 180004}) EXPECT_EQ(refusal(primary_of(v)), "") << v;
}

TEST(ServerFacts, ThirteenAndNineteenAreRefusedNamingTheVersionAndTheRange) {
  EXPECT_EQ(refusal(primary_of(130016)),
            "unsupported PostgreSQL 13.16 at host=db (pgdr supports PostgreSQL 14 to 18)");
  EXPECT_EQ(refusal(primary_of(190000)), "unsupported PostgreSQL 19.0 at host=db (pgdr supports PostgreSQL 14 to 18)");
}

TEST(ServerFacts, AStandbyCanBeBackedUpOnEveryMajor) {
  for (int v : {140023, 150014, 160014, 170010, 180004}) {
    ServerFacts standby = primary_of(v);
    standby.in_recovery = true;
    EXPECT_EQ(refusal(standby), "") << v;
  }
}

TEST(ServerFacts, MinimalWalIsRefused) {
  ServerFacts minimal = primary_of(140023);
  minimal.wal_level = "minimal";
  EXPECT_EQ(refusal(minimal), "wal_level is minimal at host=db (online backups need replica or logical)");
}

}  // namespace
}  // namespace pgdr::backup
