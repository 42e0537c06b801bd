#include "pg/binaries.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace pgdr::pg {
namespace {

// A directory with a stand-in `postgres` that answers --version like the real one.
class FakeBindir {
 public:
  explicit FakeBindir(const std::string& version) {
    char pattern[] = "/tmp/pgdr-bindir-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    std::ofstream(dir_ + "/postgres") << "#!/bin/sh\necho 'postgres (PostgreSQL) " << version << "'\n";
    ::chmod((dir_ + "/postgres").c_str(), 0755);
  }
  ~FakeBindir() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

TEST(PgBinaries, ConfiguredDirectoryOfTheRightMajorIsUsed) {
  FakeBindir seventeen("17.10");
  EXPECT_EQ(server_major_in(seventeen.path()), 17);
  const ServerPrograms p = find_server_programs(17, seventeen.path());
  EXPECT_EQ(p.major, 17);
  EXPECT_EQ(p.bindir, seventeen.path());
  EXPECT_EQ(p.program("pg_ctl"), seventeen.path() + "/pg_ctl");
}

TEST(PgBinaries, ConfiguredDirectoryOfAnotherMajorIsNeverUsedAndIsNamed) {
  FakeBindir sixteen("16.14");
  for (int major : {14, 15, 17, 18}) {
    try {
      // A machine may have this major installed (Debian's layout or pg_config): then that is used.
      const ServerPrograms p = find_server_programs(major, sixteen.path());
      EXPECT_NE(p.bindir, sixteen.path()) << major;
      EXPECT_EQ(server_major_in(p.bindir), major);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      const std::string what = e.what();
      EXPECT_NE(what.find("no PostgreSQL " + std::to_string(major) + " server programs found"), std::string::npos)
          << what;
      EXPECT_NE(what.find(sixteen.path() + " holds PostgreSQL 16"), std::string::npos) << what;
      EXPECT_NE(e.hint().find("[cluster] pg_bindir"), std::string::npos);
    }
  }
  EXPECT_THROW(find_server_programs(13, ""), Error);
  EXPECT_THROW(find_server_programs(19, sixteen.path()), Error);
}

TEST(PgBinaries, DirectoryWithoutServerAnswersNothing) {
  EXPECT_FALSE(server_major_in("/nonexistent/bin"));
  FakeBindir broken("not a version");
  EXPECT_FALSE(server_major_in(broken.path()));
}

TEST(PgBinaries, DataDirectoryMajorComesFromPgVersion) {
  FakeBindir dir("15.4");
  EXPECT_THROW(data_directory_major(dir.path()), Error);
  std::ofstream(dir.path() + "/PG_VERSION") << "18\n";
  EXPECT_EQ(data_directory_major(dir.path()), 18);
}

}  // namespace
}  // namespace pgdr::pg
