#include "pg/version.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace pgdr::pg {
namespace {

TEST(PgVersion, SupportedMajorsAreFourteenToEighteen) {
  for (int major = 14; major <= 18; ++major) EXPECT_TRUE(is_supported_major(major)) << major;
  for (int major : {9, 10, 12, 13, 19, 20}) EXPECT_FALSE(is_supported_major(major)) << major;
  EXPECT_EQ(major_of(150004), 15);
  EXPECT_EQ(major_of(180000), 18);
  EXPECT_EQ(version_text(170010), "17.10");
}

TEST(PgVersion, UnsupportedVersionIsRefusedWithTheVersionAndTheRange) {
  EXPECT_NO_THROW(require_supported_version(140023, "host=a"));
  EXPECT_NO_THROW(require_supported_version(180004, "host=a"));
  for (int v : {130012, 190000}) {
    try {
      require_supported_version(v, "host=db port=5432");
      FAIL() << v << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::postgres);
      EXPECT_EQ(std::string(e.what()), "unsupported PostgreSQL " + version_text(v) +
                                           " at host=db port=5432 (pgdr supports PostgreSQL 14 to 18)");
    }
  }
}

TEST(PgVersion, WalPageMagicRoundTripsForEveryMajor) {
  for (int major = kOldestMajor; major <= kNewestMajor; ++major) {
    auto magic = wal_page_magic(major);
    ASSERT_TRUE(magic) << major;
    EXPECT_EQ(major_of_wal_page_magic(*magic), major);
  }
  EXPECT_EQ(wal_page_magic(15), 0xD110);
  EXPECT_FALSE(wal_page_magic(13));
  EXPECT_FALSE(wal_page_magic(19));
  EXPECT_FALSE(major_of_wal_page_magic(0xD106));  // 13's
  EXPECT_FALSE(major_of_wal_page_magic(0));
}

TEST(PgVersion, BackupFunctionsFollowTheRenameIn15) {
  EXPECT_NE(backup_functions(14).start_sql.find("pg_start_backup($1, $2, false)"), std::string::npos);
  EXPECT_NE(backup_functions(14).stop_sql.find("pg_stop_backup(false, false)"), std::string::npos);
  for (int major = 15; major <= 18; ++major) {
    EXPECT_NE(backup_functions(major).start_sql.find("pg_backup_start($1, $2)"), std::string::npos);
    EXPECT_NE(backup_functions(major).stop_sql.find("pg_backup_stop(false)"), std::string::npos);
  }
  EXPECT_THROW(backup_functions(13), Error);
}

TEST(PgVersion, PerMajorFacts) {
  EXPECT_FALSE(checksums_on_by_default(17));
  EXPECT_TRUE(checksums_on_by_default(18));
  EXPECT_FALSE(has_read_replication_slot(14));
  EXPECT_TRUE(has_read_replication_slot(15));
  EXPECT_EQ(tablespace_version_prefix(16), "PG_16_");
}

}  // namespace
}  // namespace pgdr::pg
