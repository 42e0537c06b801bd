// Restore creates a tablespace's directories parents first, whatever order the manifest lists
// them in: backup workers write entries in the order they finish, so a child directory can come
// before its parent.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <string>
#include <vector>

#include "../repo/repo_test_support.h"
#include "../storage/temp_dir.h"
#include "io/sha256.h"
#include "repo/block_codec.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/snapshot_info.h"
#include "restore/restore.h"

namespace pgdr::restore {
namespace {

using repo::BlockRef;
using repo::EntryType;
using repo::FileEntry;

class TablespaceDirsTest : public repo::test::OpenRepoTestBase {
 protected:
  // A snapshot of a data directory with one tablespace (oid 16400) whose directory entries are
  // listed children first, and a one-block global/pg_control.
  void write_snapshot(const std::string& id) {
    Bytes control = repo::test::random_data(8192, 7);
    repo::BlockCodec codec(repo().key(), io::Codec::none, 0);
    const std::string pack_id = repo::new_pack_id();
    repo::PackWriter pack(repo_->store(), repo().key(), pack_id, 8192);
    repo::BlockId block_id = codec.id_of(control);
    auto entries = pack.add_frame(codec, {block_id}, control);
    pack.commit();

    repo::ManifestWriter m(repo_->store(), id, repo().key(), 8192);
    std::uint32_t pack_no = m.declare_pack(pack_id);
    auto dir = [&](const std::string& path) {
      FileEntry e;
      e.path = path;
      e.type = EntryType::directory;
      e.mode = 0700;
      m.add(e, {});
    };
    dir(kTablespaceVersionDir + "/5/16384");
    dir(kTablespaceVersionDir + "/5");
    dir(kTablespaceVersionDir);
    dir("global");
    dir("pg_tblspc");
    FileEntry link;
    link.path = "pg_tblspc/16400";
    link.type = EntryType::symlink;
    link.mode = 0777;
    link.link_target = "/old/location";
    m.add(link, {});
    FileEntry file;
    file.path = "global/pg_control";
    file.size_bytes = control.size();
    file.block_count = 1;
    // Manifest version 2: the file digest is over the block ids (repo/file_digest.h).
    file.sha256 = to_hex(io::Sha256::of(block_id));
    BlockRef ref;
    ref.id = block_id;
    ref.pack = pack_no;
    ref.offset = entries[0].offset;
    ref.length = entries[0].length;
    ref.index = 0;
    m.add(file, {ref});
    m.commit();

    repo::SnapshotInfo s;
    s.id = id;
    s.cluster_name = "main";
    s.system_identifier = "7001";
    s.pg_version_num = 150004;
    s.timeline = 1;
    s.start_lsn = s.stop_lsn = "0/2000028";
    s.start_time = s.stop_time = "2026-01-01T00:00:00.000Z";
    s.wal_segment_bytes = 16u << 20;
    s.first_wal_segment = s.last_wal_segment = "000000010000000000000002";
    s.block_bytes = 8192;
    s.packs = {pack_id};
    s.tablespaces = {{"16400", "/old/location"}};
    write_snapshot_info(repo_->store(), repo().key(), s);
  }

  const std::string kTablespaceVersionDir = "pg_tblspc/16400/PG_15_202209061";
  pgdr::test::TempDir out_;
};

TEST_F(TablespaceDirsTest, ChildDirectoriesListedBeforeTheirParentAreCreated) {
  const std::string id = "20260101T000000.000Z-abcd";
  write_snapshot(id);
  RestoreOptions opt;
  opt.target_dir = out_.path() + "/data";
  opt.snapshot = id;
  opt.recovery_settings = false;
  opt.tablespace_map = {{"16400", out_.path() + "/ts"}};
  RestoreResult r = run_restore(repo(), opt);
  EXPECT_EQ(r.files_written, 1u);
  struct stat st;
  EXPECT_EQ(::stat((out_.path() + "/ts/PG_15_202209061/5/16384").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(::lstat((out_.path() + "/data/pg_tblspc/16400").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(::stat((out_.path() + "/data/global/pg_control").c_str(), &st), 0);
}

}  // namespace
}  // namespace pgdr::restore
