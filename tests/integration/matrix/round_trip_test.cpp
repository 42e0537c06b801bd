// A snapshot under pgbench load of a database holding a second tablespace, an unlogged table,
// TOAST-sized values and large objects, restored through the archive to a quiesced point and
// started with the servers of its own major: pg_amcheck is clean and every table equals the source.
// And the WAL segments the server archived through pgdr archive-push come back byte for byte.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "matrix/majors.h"
#include "rich_database.h"
#include "wal_archive_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class RoundTrip : public OnMajor<WalArchiveTest> {};

TEST_P(RoundTrip, UnderLoad) {
  build_rich_database(*cluster_, work_->make_dir("tablespace"));
  auto init = pgbench(*cluster_, {"-i", "-s", "2"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  pgdr_ok({"init"});
  std::thread load([&] { pgbench(*cluster_, {"-c", "2", "-T", "5"}); });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const std::string id = backup();
  load.join();
  ASSERT_FALSE(id.empty());

  // The load has stopped: this is the point the copy must reach, through the archived WAL.
  archive_now(*cluster_);
  const auto source = fingerprint(*cluster_);
  const std::string large_objects = "SELECT count(*) || ':' || string_agg(md5(lo_get(oid)), ',' ORDER BY oid) FROM pg_largeobject_metadata";
  const std::string source_large_objects = cluster_->psql(large_objects);
  ASSERT_TRUE(source_large_objects.starts_with("5:")) << source_large_objects;
  ASSERT_GE(source.size(), 7u);

  const std::string ts_oid = cluster_->psql("SELECT oid FROM pg_tablespace WHERE spcname = 'extra'");
  const std::string target = work_->file("restored"), ts_target = work_->file("restored-ts");
  pgdr_ok({"restore", "--target-dir", target, "--snapshot", id, "--tablespace-map", ts_oid + "=" + ts_target});
  EXPECT_EQ(read_bytes(target + "/PG_VERSION"), std::to_string(major()) + "\n");
  PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
  ASSERT_EQ(restored.major(), major());
  wait_recovered(restored);
  EXPECT_EQ(std::stoi(restored.psql("SHOW server_version_num")) / 10000, major());

  auto amcheck = pg_amcheck(restored);
  EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
  EXPECT_EQ(fingerprint(restored), source);
  EXPECT_EQ(restored.psql(large_objects), source_large_objects);
  EXPECT_EQ(restored.psql("SELECT count(*) FROM stock.scratch"), "0") << "an unlogged table comes back empty";
  EXPECT_EQ(restored.psql("SELECT max(length(body)) FROM stock.documents"), "12800");
  EXPECT_EQ(restored.psql("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'extra'"), ts_target);
}

class Archive : public OnMajor<WalArchiveTest> {};

TEST_P(Archive, SegmentsComeBackByteEqual) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t (v text)");
  for (int i = 0; i < 3; ++i) {
    cluster_->psql("INSERT INTO t SELECT md5(g::text) FROM generate_series(1, 20000) g");
    archive_now(*cluster_);
  }
  // A segment with a .done status is one the archiver stored and the server has not yet recycled:
  // its pg_wal copy is what archive-push was given.
  int compared = 0;
  for (const auto& e : fs::directory_iterator(cluster_->data_dir() + "/pg_wal/archive_status")) {
    const std::string status = e.path().filename();
    if (status.size() != 24 + 5 || !status.ends_with(".done")) continue;
    const std::string name = status.substr(0, 24);
    const std::string original = read_bytes(cluster_->data_dir() + "/pg_wal/" + name);
    ASSERT_EQ(original.size(), 16u << 20) << name;
    const std::string dest = work_->file("fetched-" + name);
    auto r = pgdr({"archive-get", "--prefetch", "0", name, dest});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_TRUE(read_bytes(dest) == original) << name << " differs after archive-push and archive-get";
    ++compared;
  }
  EXPECT_GE(compared, 3);
}

INSTANTIATE_TEST_SUITE_P(Majors, RoundTrip, testing::ValuesIn(kMatrixMajors), major_name);
INSTANTIATE_TEST_SUITE_P(Majors, Archive, testing::ValuesIn(kMatrixMajors), major_name);

}  // namespace
}  // namespace pgdr::test
