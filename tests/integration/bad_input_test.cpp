// Each failure a user can meet, built for real: one clear line, a non-zero exit code, and nothing
// half-written left looking valid.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

class BadInputTest : public PgdrTest {
 protected:
  // The only object under dir whose name starts with prefix (e.g. the manifest of one snapshot).
  std::vector<std::string> objects(const std::string& sub) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(repo_dir_ + "/" + sub))
      if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  static void flip_byte(const std::string& path, std::uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f) << path;
    f.seekg(static_cast<std::streamoff>(offset));
    char c;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x20);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  }
  static std::uint64_t size_of(const std::string& p) { return fs::file_size(p); }

  static void expect_one_line(const PgdrResult& r) {
    std::string first = r.err.substr(0, r.err.find('\n'));
    EXPECT_TRUE(first.starts_with("pgdr: ")) << r.err;
    // One error line, optionally followed by a single HINT line.
    std::size_t lines = static_cast<std::size_t>(std::count(r.err.begin(), r.err.end(), '\n'));
    EXPECT_LE(lines, 2u) << r.err;
    if (lines == 2) {
      EXPECT_NE(r.err.find("\nHINT: "), std::string::npos) << r.err;
    }
  }

  void small_database() {
    cluster_->psql(
        "CREATE TABLE t (id int PRIMARY KEY, v text);"
        "INSERT INTO t SELECT g, md5(g::text) || random()::text FROM generate_series(1, 20000) g;");
  }
};

TEST_F(BadInputTest, WrongPassphrase) {
  pgdr_ok({"init"});
  auto r = pgdr({"info"}, {"PGDR_PASSPHRASE=not the passphrase"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pgdr: wrong passphrase: no key slot of repository 'local'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not the passphrase"), std::string::npos);
  expect_one_line(r);
}

TEST_F(BadInputTest, MissingPassphraseIsAConfigurationError) {
  pgdr_ok({"init"});
  auto r = pgdr({"info"}, {"PGDR_PASSPHRASE="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("passphrase variable PGDR_PASSPHRASE is not set or empty"), std::string::npos) << r.err;
}

TEST_F(BadInputTest, FlippedByteInPackIsDetectedAndNamed) {
  small_database();
  pgdr_ok({"init"});
  backup();
  auto packs = objects("packs");
  ASSERT_FALSE(packs.empty());
  std::string pack = packs.front();
  flip_byte(pack, size_of(pack) / 3);
  auto r = pgdr({"restore", "--target-dir", work_->file("restored")});
  EXPECT_EQ(r.exit_code, 1);
  std::string name = fs::path(pack).filename();
  EXPECT_NE(r.err.find("corrupt pack packs/" + name.substr(0, 2) + "/" + name), std::string::npos) << r.err;
  expect_one_line(r);
  // Nothing restored looks startable: pg_control is written last.
  EXPECT_FALSE(fs::exists(work_->file("restored/global/pg_control")));
}

TEST_F(BadInputTest, FlippedByteInManifestIsDetectedAndNamed) {
  small_database();
  pgdr_ok({"init"});
  std::string id = backup();
  std::string manifest = repo_dir_ + "/snapshots/" + id + ".manifest";
  flip_byte(manifest, size_of(manifest) / 2);
  auto r = pgdr({"restore", "--target-dir", work_->file("restored")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("corrupt object snapshots/" + id + ".manifest"), std::string::npos) << r.err;
  expect_one_line(r);
}

TEST_F(BadInputTest, FlippedByteInSnapshotInfoIsDetectedAndNamed) {
  pgdr_ok({"init"});
  std::string older = backup();
  std::string id = backup();
  std::string info = repo_dir_ + "/snapshots/" + id + ".info";
  flip_byte(info, size_of(info) - 5);
  // Named, and the command fails; the intact snapshot is still listed.
  auto r = pgdr({"info", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("corrupt object snapshots/" + id + ".info"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["repositories"][0]["snapshots"].size(), 1u);
  EXPECT_EQ(j["repositories"][0]["snapshots"][0]["id"], older);
  EXPECT_EQ(j["repositories"][0]["damaged_snapshots"].size(), 1u);
  EXPECT_EQ(j["status"], "warning");
  const std::string reason = j["status_reason"];
  EXPECT_TRUE(reason.starts_with("1 damaged object in repository 'local': ")) << reason;
  EXPECT_NE(reason.find("corrupt object snapshots/" + id + ".info"), std::string::npos) << reason;
  // A restore of "latest" takes the newest intact snapshot and says what it left out.
  auto restore = pgdr({"restore", "--target-dir", work_->file("restored")});
  EXPECT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_NE(restore.err.find("restored snapshot " + older), std::string::npos) << restore.err;
  EXPECT_NE(restore.err.find("left out when choosing the snapshot"), std::string::npos) << restore.err;
}

TEST_F(BadInputTest, TruncatedPackIsDetected) {
  small_database();
  pgdr_ok({"init"});
  backup();
  auto packs = objects("packs");
  ASSERT_FALSE(packs.empty());
  fs::resize_file(packs.front(), size_of(packs.front()) / 2);
  auto r = pgdr({"restore", "--target-dir", work_->file("restored")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.find("truncated") != std::string::npos || r.err.find("corrupt pack") != std::string::npos) << r.err;
  expect_one_line(r);
}

TEST_F(BadInputTest, UnknownRepositoryFormatVersionIsRefused) {
  pgdr_ok({"init"});
  std::string path = repo_dir_ + "/pgdr.repo";
  std::ifstream in(path);
  auto j = nlohmann::json::parse(in);
  in.close();
  j["version"] = 2;
  std::ofstream(path) << j.dump();
  for (const char* cmd : {"info", "backup"}) {
    auto r = pgdr({cmd});
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_NE(r.err.find("unsupported repository format version 2 in repository 'local'"), std::string::npos) << r.err;
  }
}

TEST_F(BadInputTest, InitRefusesAnExistingRepository) {
  pgdr_ok({"init"});
  auto r = pgdr({"init"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refusing to create repository 'local'"), std::string::npos) << r.err;
}

TEST_F(BadInputTest, ServerDown) {
  pgdr_ok({"init"});
  cluster_->stop();
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pgdr: unable to connect to PostgreSQL at host=127.0.0.1 port=" + std::to_string(cluster_->port())),
            std::string::npos)
      << r.err;
  expect_one_line(r);
}

TEST_F(BadInputTest, PasswordInConninfoNeverPrinted) {
  pgdr_ok({"init"});
  cluster_->stop();
  write_config();
  std::string text;
  {
    std::ifstream in(config_);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto pos = text.find("conninfo = \"");
  text.insert(pos + 12, "password=hunter2-secret ");
  std::ofstream(config_) << text;
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
}

TEST_F(BadInputTest, WrongDataDirectory) {
  pgdr_ok({"init"});
  std::string other = work_->make_dir("not-pgdata");
  std::string text;
  {
    std::ifstream in(config_);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto pos = text.find(cluster_->data_dir());
  text.replace(pos, cluster_->data_dir().size(), other);
  std::ofstream(config_) << text;
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("[cluster] pgdata is " + other), std::string::npos) << r.err;
}

TEST_F(BadInputTest, UnreadableFileInDataDirectory) {
  small_database();
  pgdr_ok({"init"});
  // A file the server itself never writes, so only the backup trips over it.
  std::string victim = cluster_->data_dir() + "/base/1/PG_VERSION";
  ASSERT_EQ(chmod(victim.c_str(), 0), 0);
  auto r = pgdr({"backup"});
  chmod(victim.c_str(), 0600);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unable to open: " + victim + " (Permission denied)"), std::string::npos) << r.err;
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  EXPECT_TRUE(info["repositories"][0]["snapshots"].empty());
}

TEST_F(BadInputTest, RestoreTargetNotEmpty) {
  pgdr_ok({"init"});
  backup();
  std::string target = work_->make_dir("occupied");
  work_->write_file("occupied/keep-me", "important");
  auto r = pgdr({"restore", "--target-dir", target});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing to restore into a non-empty directory: " + target), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(target + "/keep-me"));
}

TEST_F(BadInputTest, BrokenConfigurationNamesFileAndLine) {
  std::string bad = work_->write_file("bad.toml", "[cluster]\npgdata = \"/x\"\nfavourite_colour = \"blue\"\n");
  auto r = run_pgdr({"--config", bad, "info"}, {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid configuration: " + bad + ":3 (unknown key 'favourite_colour' in [cluster])"),
            std::string::npos)
      << r.err;
}

// A repository on a 24 MiB file system that fills up during the backup: the error names the
// device's complaint, no snapshot appears, and a backup works again once there is room.
TEST_F(BadInputTest, FullDiskWhileBackingUp) {
  ASSERT_EQ(geteuid(), 0u) << "this scenario mounts a small tmpfs and needs root (CI runs as root)";
  cluster_->psql(
      "CREATE TABLE noise (id int, v text);"
      "INSERT INTO noise SELECT g, md5(g::text) || md5(random()::text) || md5(random()::text) FROM "
      "generate_series(1, 600000) g;");
  std::string mnt = work_->make_dir("small-fs");
  ASSERT_EQ(mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=24m,mode=0700"), 0) << strerror(errno);
  struct Unmount {
    std::string p;
    ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  ASSERT_EQ(chown(mnt.c_str(), static_cast<uid_t>(std::stoi(run_as_server_user({"id", "-u"}).out)),
                  static_cast<gid_t>(std::stoi(run_as_server_user({"id", "-g"}).out))),
            0);
  repo_dir_ = mnt + "/repo";
  write_config();
  pgdr_ok({"init"});
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  EXPECT_TRUE(info["repositories"][0]["snapshots"].empty());
  // Make room and try again.
  cluster_->psql("DROP TABLE noise; CHECKPOINT;");
  std::string id = backup();
  EXPECT_FALSE(id.empty());
  std::string target = work_->file("restored");
  pgdr_ok({"restore", "--target-dir", target});
  PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(restored.psql("SELECT count(*) FROM pg_class WHERE relname = 'noise'"), "0");
}

}  // namespace
}  // namespace pgdr::test
