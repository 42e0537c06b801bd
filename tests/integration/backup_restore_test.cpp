// Round trip of a real cluster through a local repository: snapshot under load, restore, start,
// amcheck, and identical content; dedup of a second snapshot.
#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <filesystem>
#include <functional>
#include <thread>

#include "core/file.h"
#include "pgdr_fixture.h"
#include "repo/block_codec.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "recorded_blocks.h"
#include "rich_database.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::test {
namespace {

class BackupRestoreTest : public PgdrTest {};

TEST_F(BackupRestoreTest, SnapshotUnderLoadRestoresAndMatchesSource) {
  std::string ts_dir = work_->make_dir("tablespace");
  build_rich_database(*cluster_, ts_dir);
  auto init = pgbench(*cluster_, {"-i", "-s", "2"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  pgdr_ok({"init"});

  // First snapshot while pgbench writes.
  std::thread load([&] {
    pgbench(*cluster_, {"-c", "2", "-T", "6"});
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::string under_load = backup();
  load.join();
  ASSERT_FALSE(under_load.empty());

  std::string ts_oid = cluster_->psql("SELECT oid FROM pg_tablespace WHERE spcname = 'extra'");
  {
    std::string target = work_->file("restored-under-load");
    std::string ts_target = work_->file("restored-under-load-ts");
    pgdr_ok({"restore", "--target-dir", target, "--snapshot", under_load, "--tablespace-map", ts_oid + "=" + ts_target});
    PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
    wait_recovered(restored);
    auto amcheck = pg_amcheck(restored);
    EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
    EXPECT_EQ(restored.psql("SELECT count(*) FROM stock.documents"), "200");
    // The unlogged table comes back empty, as after a crash.
    EXPECT_EQ(restored.psql("SELECT count(*) FROM stock.scratch"), "0");
    EXPECT_EQ(restored.psql("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'extra'"), ts_target);
  }

  // With the load stopped, a second snapshot restores to exactly the source's content.
  std::string quiet = backup();
  auto source = fingerprint(*cluster_);
  std::string target = work_->file("restored-quiet");
  std::string ts_target = work_->file("restored-quiet-ts");
  pgdr_ok({"restore", "--target-dir", target, "--tablespace-map", ts_oid + "=" + ts_target});
  PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(restored);
  auto copy = fingerprint(restored);
  EXPECT_EQ(copy, source);
  EXPECT_GE(source.size(), 6u);

  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto snaps = info["repositories"][0]["snapshots"];
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0]["id"], under_load);
  EXPECT_EQ(snaps[1]["id"], quiet);
  EXPECT_EQ(snaps[1]["checksum_failures"], 0);
}

TEST_F(BackupRestoreTest, SecondSnapshotAfterSmallChangeStoresUnderFivePercent) {
  cluster_->psql(
      "CREATE TABLE items (id int PRIMARY KEY, payload text);"
      "INSERT INTO items SELECT g, md5(g::text) || md5((g * 7)::text) || random()::text FROM generate_series(1, 400000) g;"
      "CHECKPOINT;");
  pgdr_ok({"init"});
  backup();
  cluster_->psql("UPDATE items SET payload = 'changed' WHERE id <= 100; CHECKPOINT;");
  backup();
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  auto snaps = info["repositories"][0]["snapshots"];
  ASSERT_EQ(snaps.size(), 2u);
  double first = snaps[0]["stored_bytes"], second = snaps[1]["stored_bytes"];
  EXPECT_GT(first, 5e6);
  EXPECT_LT(second, 0.05 * first) << "first " << first << " second " << second;
  EXPECT_GT(snaps[1]["reused_blocks"].get<double>(), 0.9 * snaps[0]["new_blocks"].get<double>());
  // The repository's stored_bytes is its size on disk, WAL archive and key slots included, not the
  // sum of what the snapshots added.
  std::uint64_t on_disk = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo_dir_))
    if (e.is_regular_file()) on_disk += e.file_size();
  EXPECT_EQ(info["repositories"][0]["stored_bytes"].get<std::uint64_t>(), on_disk);
  EXPECT_GT(on_disk, static_cast<std::uint64_t>(first + second));
}

// A table of over 100 MiB is read in pieces that both workers take. Its manifest must name, in
// file order, exactly the blocks on disk (ids computed here from the file itself), the copy must
// restore to the same content, and a second snapshot must reuse its unchanged blocks piece by
// piece.
TEST_F(BackupRestoreTest, BigRelationReadInPiecesIsRecordedInFileOrder) {
  cluster_->psql(
      "CREATE TABLE big (id int, payload text);"
      "INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 800000) g;"
      "VACUUM FREEZE big; CHECKPOINT;");
  const std::string rel = cluster_->psql("SELECT pg_relation_filepath('big')");
  const auto rel_bytes = std::stoull(cluster_->psql("SELECT pg_relation_size('big')"));
  ASSERT_GT(rel_bytes, 3ull * (32u << 20)) << "the table must span more than three pieces";
  ASSERT_LT(rel_bytes, 1ull << 30) << "one segment file";
  pgdr_ok({"init"});
  auto b = pgdr({"-v", "backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string first = b.out.substr(0, b.out.find('\n'));
  EXPECT_GE(pieces_logged(b.err, rel), 4) << b.err;

  expect_recorded_as_on_disk(repo_dir_, first, cluster_->data_dir(), rel, rel_bytes);

  // Deleting marks the rows' first 130-odd pages only (an update would put the new versions in
  // the free space of pages all over the table).
  cluster_->psql("DELETE FROM big WHERE id <= 8000; CHECKPOINT;");
  const std::string second = backup();
  auto snaps = nlohmann::json::parse(pgdr_ok({"info", "--json"}))["repositories"][0]["snapshots"];
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_GT(snaps[1]["reused_blocks"].get<double>(), 0.9 * snaps[0]["new_blocks"].get<double>());

  auto source = fingerprint(*cluster_);
  std::string target = work_->file("restored-big");
  pgdr_ok({"restore", "--target-dir", target, "--snapshot", second});
  PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), source);
  // Every block of both snapshots against its id, every file against its digest (the only other
  // finding is the WAL archive this test does not keep).
  auto v = pgdr({"verify", "--full"});
  EXPECT_NE(v.out.find("PASS checksums"), std::string::npos) << v.out << v.err;
  EXPECT_NE(v.out.find("none damaged"), std::string::npos) << v.out << v.err;
}

// Bytes the packs of the repository at dir hold.
std::uint64_t pack_bytes(const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/packs"))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

// The number of frames `pgdr -v backup` says it compressed harder, or -1 when it says nothing.
long frames_harder_logged(const std::string& err) {
  const auto at = err.find(" frames compressed at level 6");
  if (at == std::string::npos) return -1;
  const auto of = err.rfind(" of ", at);
  const auto start = err.rfind(": ", of);
  return std::atol(err.c_str() + start + 2);
}

// Rows of a sales table compress about 3:1: the default settings compress their frames harder
// (lazy matching), which stores less than the level asked for and restores the same content.
TEST_F(BackupRestoreTest, DataThatCompressesBadlyIsCompressedHarderAndRestoresTheSame) {
  cluster_->psql(
      "CREATE TABLE sales (id int, customer text, amount numeric, sold date);"
      "INSERT INTO sales SELECT g, (ARRAY['alice','bob','carol','dave','erin','frank','grace','heidi'])"
      "[1 + abs(hashint4(g)) % 8] || ' ' || (ARRAY['north','south','east','west','central'])[1 + abs(hashint4(g + 1)) % 5],"
      " (abs(hashint4(g + 2)) % 100000) / 100.0, date '2020-01-01' + abs(hashint4(g + 3)) % 2000"
      " FROM generate_series(1, 300000) g;"
      "CHECKPOINT;");
  write_config("compress_harder_below = 0\n");
  pgdr_ok({"init"});
  auto fast = pgdr({"-v", "backup"});
  ASSERT_EQ(fast.exit_code, 0) << fast.err;
  EXPECT_EQ(frames_harder_logged(fast.err), -1) << "0 turns it off: " << fast.err;
  const std::uint64_t fast_bytes = pack_bytes(repo_dir_);

  std::filesystem::remove_all(repo_dir_);
  write_config();
  pgdr_ok({"init"});
  auto harder = pgdr({"-v", "backup"});
  ASSERT_EQ(harder.exit_code, 0) << harder.err;
  EXPECT_GT(frames_harder_logged(harder.err), 10) << harder.err;
  const std::uint64_t harder_bytes = pack_bytes(repo_dir_);
  EXPECT_LT(harder_bytes, fast_bytes * 99 / 100) << "harder " << harder_bytes << ", at level 2 " << fast_bytes;

  auto source = fingerprint(*cluster_);
  std::string target = work_->file("restored-harder");
  pgdr_ok({"restore", "--target-dir", target});
  PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), source);
  auto v = pgdr({"verify", "--full"});
  EXPECT_NE(v.out.find("PASS checksums"), std::string::npos) << v.out << v.err;
}

TEST_F(BackupRestoreTest, RepositoryFilesArePrivate) {
  pgdr_ok({"init"});
  backup();
  int files = 0;
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    struct stat st;
    ASSERT_EQ(lstat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u) << dir;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_directory()) {
        walk(entry.path());
      } else {
        ASSERT_EQ(lstat(entry.path().c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0600u) << entry.path();
        ++files;
      }
    }
  };
  walk(repo_dir_);
  EXPECT_GE(files, 5);
}

}  // namespace
}  // namespace pgdr::test
