// archive-push stores only what is the WAL file its name says, against a real PostgreSQL 15:
// empty files, zeros, text, another cluster's segment and a segment renamed to another position
// are refused with one exact line, nothing is stored, and the real segment is archived after.
// An invalid object already stored (as an earlier version let through) is named by verify,
// never served by archive-get, explained by archive-push's HINT and replaced by
// --replace-invalid, with an audit entry naming both digests.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/bytes.h"
#include "io/sha256.h"
#include "pg/lsn.h"
#include "pgdr_fixture.h"
#include "repo/repository.h"
#include "repo/wal_archive.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

std::string sha256_hex(const std::string& s) { return to_hex(io::Sha256::of(as_bytes(s))); }

class WalFileCheckTest : public PgdrTest {
 protected:
  PgClusterOptions cluster_options() override {
    auto o = with_passphrase({});
    o.archive_command = pgdr_path() + " --config " + work_->file("pgdr.toml") + " archive-push %p";
    return o;
  }

  std::string object_path(const std::string& name) { return repo_dir_ + "/" + repo::wal_object(name); }
  // Its digest, or "<absent>": compared before and after a refused push.
  std::string stored_sha(const std::string& name) {
    return fs::exists(object_path(name)) ? sha256_hex(read_whole(object_path(name))) : std::string("<absent>");
  }
  std::string describe_repo() { return "repository 'local' (local directory " + repo_dir_ + ")"; }
  // The segment being written. A record is written first: right after a switch the position is a
  // segment boundary, which pg_walfile_name names as the segment before (already archived).
  static std::string current_segment(const PgCluster& c) {
    c.psql("SELECT pg_logical_emit_message(false, 'pgdr-test', 'x')");
    return c.psql("SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
  }
  static std::string system_identifier(const PgCluster& c) {
    return c.psql("SELECT system_identifier FROM pg_control_system()");
  }

  // Pushes path (named as a WAL file) and expects the refusal why, exit 1 and no change to the
  // object under its name.
  void expect_refused(const std::string& path, const std::string& why) {
    const std::string name = fs::path(path).filename();
    const std::string before = stored_sha(name);
    auto r = pgdr({"archive-push", path});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err, "pgdr: refusing to archive " + path + " (" + why + ")\n");
    EXPECT_EQ(stored_sha(name), before) << "something was stored under " << name;
  }
};

TEST_F(WalFileCheckTest, WhatIsNotTheSegmentIsRefusedAndTheRealOneArchivedAfter) {
  pgdr_ok({"init"});
  const std::string id = backup();
  const std::string known = "known from snapshot " + id + " in repository 'local'";
  const std::string next = current_segment(*cluster_);  // archived once the server switches
  const std::string path = work_->file(next);
  ASSERT_EQ(stored_sha(next), "<absent>");

  work_->write_file(next, "", 0600);
  expect_refused(path, "empty file, not a WAL segment");
  work_->write_file(next, std::string(16u << 20, '\0'), 0600);
  expect_refused(path, "its first page header is all zeros, not written WAL");
  work_->write_file(next, "archive me\n", 0600);
  expect_refused(path, "11 bytes, too short for a WAL segment");

  // The segment being written, copied under the next segment's name.
  const auto seg = *pg::parse_segment_file_name(next, 16u << 20);
  const std::string later = pg::segment_file_name(seg.timeline, seg.segno + 1, 16u << 20);
  const std::string renamed = work_->write_file(later, read_whole(cluster_->data_dir() + "/pg_wal/" + next), 0600);
  expect_refused(renamed, "page address " + pg::to_string(pg::Lsn{seg.segno << 24}) + " where " +
                              pg::to_string(pg::Lsn{(seg.segno + 1) << 24}) +
                              " was expected: the segment of another position");

  // A segment of a second cluster, under its own name.
  {
    PgCluster other(with_passphrase({}));
    const std::string other_name = current_segment(other);
    work_->make_dir("other");
    const std::string other_path =
        work_->write_file("other/" + other_name, read_whole(other.data_dir() + "/pg_wal/" + other_name), 0600);
    expect_refused(other_path, "system identifier " + system_identifier(other) + " where this cluster's is " +
                                   system_identifier(*cluster_) + ", " + known + ": WAL of another cluster");
  }

  // The real segment is archived by the server, and served back as it was.
  cluster_->psql("CREATE TABLE t AS SELECT generate_series(1, 1000) v");
  archive_now(*cluster_);
  EXPECT_EQ(cluster_->psql("SELECT failed_count FROM pg_stat_archiver"), "0");
  ASSERT_NE(stored_sha(next), "<absent>");
  auto got = pgdr({"archive-get", "--prefetch", "0", next, work_->file("RECOVERYXLOG")});
  EXPECT_EQ(got.exit_code, 0) << got.err;
}

TEST_F(WalFileCheckTest, AnInvalidStoredObjectIsNamedNeverServedAndReplacedWithAnAuditEntry) {
  pgdr_ok({"init"});
  backup();
  const std::string name = current_segment(*cluster_);
  {
    // What an earlier version stored when PostgreSQL handed it an empty file under this name.
    auto r = repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir_), "local", kPassphrase, "the test");
    repo::overwrite_wal_file(r, name, Bytes{});
  }
  give_to_server_user(repo_dir_);
  const std::string object = repo::wal_object(name);
  const std::string invalid = "invalid WAL object " + object + " in " + describe_repo() + " (empty file, not a WAL segment)";

  // The server's archiver meets it and retries; the real segment stays in pg_wal.
  cluster_->psql("SELECT pg_switch_wal()");
  for (int i = 0; i < 100 && cluster_->psql("SELECT failed_count FROM pg_stat_archiver") == "0"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_NE(cluster_->psql("SELECT failed_count FROM pg_stat_archiver"), "0");
  const std::string real = read_whole(cluster_->data_dir() + "/pg_wal/" + name);
  const std::string path = work_->write_file(name, real, 0600);

  auto push = pgdr({"archive-push", path});
  EXPECT_EQ(push.exit_code, 1);
  EXPECT_EQ(push.err, "pgdr: WAL file " + name + " is already archived in " + describe_repo() +
                          " with different content\nHINT: the stored object is not valid WAL (empty file, not a WAL "
                          "segment); once this file is known to be the real one, replace it with: pgdr archive-push "
                          "--replace-invalid " + path + "\n");

  const std::string report = work_->file("verify.json");
  auto verify = pgdr({"verify", "--no-alerts", "--report", report});
  EXPECT_EQ(verify.exit_code, 2) << verify.err;
  auto j = nlohmann::json::parse(read_whole(report));
  EXPECT_EQ(j["result"], "FAIL");
  bool named = false;
  for (const auto& c : j["checks"])
    if (c["name"] == "checksums") {
      EXPECT_EQ(c["status"], "FAIL");
      for (const auto& f : c["findings"]) named |= f["message"] == invalid;
    }
  EXPECT_TRUE(named) << j.dump(1);

  const std::string dest = work_->file("RECOVERYXLOG");
  auto get = pgdr({"archive-get", "--prefetch", "0", name, dest});
  EXPECT_EQ(get.exit_code, 126);
  EXPECT_EQ(get.err.substr(0, get.err.find('\n')),
            "pgdr: unable to fetch WAL file " + name + " intact from any repository; " + invalid);
  EXPECT_FALSE(fs::exists(dest));

  const std::string invalid_sha = stored_sha(name);
  auto replace = pgdr({"archive-push", "--replace-invalid", path});
  EXPECT_EQ(replace.exit_code, 0) << replace.err;
  EXPECT_EQ(replace.err, "pgdr: replaced the invalid object stored under " + name +
                             " in repository 'local' (recorded in its audit log)\n");
  auto audit = nlohmann::json::parse(pgdr_ok({"audit", "--json"}));
  std::vector<nlohmann::json> replaced;
  for (const auto& e : audit["entries"])
    if (e["command"] == "archive-push") replaced.push_back(e);
  ASSERT_EQ(replaced.size(), 1u) << audit.dump(1);
  EXPECT_EQ(replaced[0]["what"], "WAL file " + name);
  EXPECT_EQ(replaced[0]["details"], "replaced an invalid stored object (stored object sha256 " + invalid_sha +
                                        ": empty file, not a WAL segment) with a valid file (content sha256 " +
                                        sha256_hex(real) + ")");
  EXPECT_TRUE(audit["intact"].get<bool>());

  // Now the name holds the real segment: served, accepted again without a second entry, and the
  // server's archiver goes on.
  auto served = pgdr({"archive-get", "--prefetch", "0", name, dest});
  EXPECT_EQ(served.exit_code, 0) << served.err;
  EXPECT_TRUE(read_whole(dest) == real) << "archive-get served other bytes than the real segment";
  pgdr_ok({"archive-push", "--replace-invalid", path});
  audit = nlohmann::json::parse(pgdr_ok({"audit", "--json"}));
  std::size_t entries = 0;
  for (const auto& e : audit["entries"]) entries += e["command"] == "archive-push";
  EXPECT_EQ(entries, 1u);
  archive_now(*cluster_);
}

// A file that passes the checks never replaces a valid stored one, even when asked to.
TEST_F(WalFileCheckTest, ReplaceInvalidNeverReplacesAValidObject) {
  pgdr_ok({"init"});
  backup();
  cluster_->psql("CREATE TABLE t AS SELECT generate_series(1, 1000) v");
  archive_now(*cluster_);
  // The archived segment before the current one, and a valid file of the same name with other
  // bytes after its header (what a second cluster forged with this system identifier would be).
  const auto cur = *pg::parse_segment_file_name(current_segment(*cluster_), 16u << 20);
  const std::string name = pg::segment_file_name(cur.timeline, cur.segno - 1, 16u << 20);
  ASSERT_NE(stored_sha(name), "<absent>");
  const std::string dest = work_->file("fetched");
  ASSERT_EQ(pgdr({"archive-get", "--prefetch", "0", name, dest}).exit_code, 0);
  std::string other = read_whole(dest);
  other[other.size() - 1] ^= 1;
  const std::string path = work_->write_file(name, other, 0600);
  const std::string before = stored_sha(name);
  auto r = pgdr({"archive-push", "--replace-invalid", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "pgdr: refusing to replace WAL file " + name + " in " + describe_repo() +
                       " (the stored object passes every check; only an invalid one is replaced)\nHINT: two clusters "
                       "may be archiving into one repository; check archive_command on every server\n");
  EXPECT_EQ(stored_sha(name), before);
  auto plain = pgdr({"archive-push", path});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_NE(plain.err.find("HINT: the stored object is valid WAL too: two clusters may be archiving into one "
                           "repository"),
            std::string::npos)
      << plain.err;
}

}  // namespace
}  // namespace pgdr::test
