// Each failure a user can meet, built for real: one clear line, a non-zero exit code, and nothing
// half-written left looking valid.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pgdr_fixture.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "storage/posix/posix_storage.h"

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
    // Warnings about damage the command worked around on its way may come first.
    std::string err = r.err;
    while (err.starts_with("pgdr: warning: ") && err.find('\n') != std::string::npos) err.erase(0, err.find('\n') + 1);
    std::string first = err.substr(0, err.find('\n'));
    EXPECT_TRUE(first.starts_with("pgdr: ") && !first.starts_with("pgdr: warning: ")) << r.err;
    // One error line, optionally followed by a single HINT line.
    std::size_t lines = static_cast<std::size_t>(std::count(err.begin(), err.end(), '\n'));
    EXPECT_LE(lines, 2u) << r.err;
    if (lines == 2) {
      EXPECT_NE(err.find("\nHINT: "), std::string::npos) << r.err;
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

TEST_F(BadInputTest, BackupRefusesToBuildOnPacksOfAnotherFormat) {
  // A repository whose packs an earlier development build wrote (pack format version 2): a new
  // snapshot would refer to their blocks and never restore. The tail states the version.
  pgdr_ok({"init"});
  small_database();
  backup();
  const auto before = objects("snapshots");
  for (const auto& pack : objects("packs")) {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size_of(pack) - 12));
    const char v2[4] = {2, 0, 0, 0};  // 32-byte block ids, development builds only
    f.write(v2, 4);
  }
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  expect_one_line(r);
  EXPECT_NE(r.err.find("in repository 'local' at local directory " + repo_dir_ +
                       " is stored in packs of format version 2, this pgdr reads version 3"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("HINT: back up to a new repository"), std::string::npos) << r.err;
  EXPECT_EQ(objects("snapshots"), before);
}

TEST_F(BadInputTest, ABackupStoresAgainTheBlocksOfAMissingPackOfThePreviousSnapshot) {
  // Block ids are kept in pack trailers alone: a backup that cannot read one of the previous
  // snapshot's packs cannot compare with the blocks in it. It stores them again and says so,
  // rather than failing or building the new snapshot on the missing pack.
  pgdr_ok({"init"});
  small_database();
  const std::string first = backup();
  const auto packs = objects("packs");
  ASSERT_FALSE(packs.empty());
  const std::string gone =
      *std::max_element(packs.begin(), packs.end(), [](const auto& a, const auto& b) { return size_of(a) < size_of(b); });
  const std::string gone_id = fs::path(gone).filename();
  fs::remove(gone);

  auto r = pgdr({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("pgdr: warning: missing pack " + repo::pack_object(gone_id) + " in repository 'local'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(": the files of snapshot " + first + " with blocks in it are stored again; run pgdr verify"),
            std::string::npos)
      << r.err;
  std::string second = r.out.substr(0, r.out.find('\n'));
  {
    auto repo = repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir_), "local", kPassphrase, "the test");
    repo::ManifestIndex index(repo.store(), second, repo.key());
    for (std::uint32_t p = 0; p < index.pack_count(); ++p) EXPECT_NE(index.pack_id(p), gone_id);
  }
  const auto source = fingerprint(*cluster_);
  const std::string target = work_->file("restored");
  auto restore = pgdr({"restore", "--snapshot", second, "--target-dir", target});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), source);
}

TEST_F(BadInputTest, APackWhoseTrailerIsDamagedStillRestoresCheckedByItsFiles) {
  // Block ids are in the pack trailers: a trailer that fails authentication leaves its frames
  // intact but their blocks without ids. Restore reads them all the same, says so once, and
  // proves each file by its SHA-256; the restored cluster is the source.
  pgdr_ok({"init"});
  small_database();
  const std::string snapshot = backup();
  const auto source = fingerprint(*cluster_);
  const auto packs = objects("packs");
  ASSERT_FALSE(packs.empty());
  const std::string pack =
      *std::max_element(packs.begin(), packs.end(), [](const auto& a, const auto& b) { return size_of(a) < size_of(b); });
  const std::string pack_id = fs::path(pack).filename();
  // The sealed trailer ends 16 bytes before the end of the pack: its last byte before the tail
  // is in its authentication tag.
  flip_byte(pack, size_of(pack) - 17);

  const std::string target = work_->file("restored");
  auto r = pgdr({"restore", "--target-dir", target});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string warning = "pgdr: warning: corrupt pack " + repo::pack_object(pack_id) + " in repository 'local'";
  std::size_t at = r.err.find(warning);
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(warning, at + 1), std::string::npos) << "one warning per pack: " << r.err;
  const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
  EXPECT_NE(line.find("(trailer fails authentication): its blocks are restored without their ids"), std::string::npos)
      << line;
  EXPECT_NE(r.err.find("restored snapshot " + snapshot), std::string::npos) << r.err;
  PgCluster restored(PgCluster::Adopt{target}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), source);

  // verify names the damage.
  auto v = pgdr({"verify"});
  EXPECT_EQ(v.exit_code, 2) << v.out << v.err;
  EXPECT_NE(v.out.find("corrupt pack " + repo::pack_object(pack_id) + " (trailer fails authentication)"),
            std::string::npos)
      << v.out;
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

// Damaged repositories, as one table in the manner of PostgreSQL's pg_verifybackup
// t/003_corruption.pl: each row damages a repository holding a snapshot of a small database one
// way, runs one command, and expects its exit code and one whole line of its output, exactly.
// Lines are templates: "{key}" is what the damage hit (the pack, the frame's offset, the file that
// needs the frame...), found by reading the repository with pgdr's own readers before the damage.
using Facts = std::map<std::string, std::string>;
class CorruptionTest;

struct CorruptionScenario {
  std::string name;
  std::function<void(CorruptionTest&, Facts&)> damage;  // does the damage and records what it hit
  std::vector<std::string> command;                      // pgdr's arguments, "{key}" filled in
  int exit_code = 0;
  std::string line;                                        // of stderr or stdout, "{key}" filled in
  // What else must hold, given the command's result; may be empty.
  std::function<void(CorruptionTest&, const Facts&, const PgdrResult&)> then;
};

// gtest prints a parameter by its name.
void PrintTo(const CorruptionScenario& s, std::ostream* out) { *out << s.name; }

std::string fill(std::string text, const Facts& facts) {
  for (const auto& [key, value] : facts)
    for (std::size_t at; (at = text.find("{" + key + "}")) != std::string::npos;)
      text.replace(at, key.size() + 2, value);
  return text;
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

class CorruptionTest : public BadInputTest, public ::testing::WithParamInterface<CorruptionScenario> {
 public:
  // Flips the middle byte of a frame of the first pack that one file alone needs: the frame holding
  // the byte a third into the pack, or the next such. Records {pack}, {offset} and {file}.
  void flip_frame(Facts& facts) {
    auto [pack, frames] = first_pack();
    auto users = frame_users(facts.at("snapshot"), pack);
    auto it = frames.upper_bound(size_of(path_of(pack)) / 3);
    ASSERT_NE(it, frames.begin());
    for (--it; it != frames.end() && users[it->first].size() != 1; ++it) {}
    ASSERT_NE(it, frames.end()) << "no frame of pack " << pack << " is needed by one file alone";
    flip_byte(path_of(pack), it->first + it->second / 2);
    facts["pack"] = repo::pack_object(pack);
    facts["offset"] = std::to_string(it->first);
    facts["file"] = users[it->first].front();
  }

  // Cuts the first pack inside its last frame, as an interrupted copy would: that frame is lost,
  // and the trailer with it, which holds the ids of all the pack's blocks (the other frames still
  // restore, checked by their files' digests). Records {pack}, {cut}, {body_end} (the end of the
  // last frame) and {files}, how verify names the files that use the pack.
  void cut_pack(Facts& facts) {
    auto [pack, frames] = first_pack();
    const auto& [offset, length] = *frames.rbegin();
    const std::uint64_t cut = offset + length / 2;
    facts["files"] = pack_files(facts.at("snapshot"), pack);
    fs::resize_file(path_of(pack), cut);
    facts["pack"] = repo::pack_object(pack);
    facts["cut"] = std::to_string(cut);
    facts["body_end"] = std::to_string(static_cast<std::uint64_t>(offset) + length);
  }

  // Flips the byte at offset (counted from the end when negative) of a sealed object, and records
  // {object} and {frame}, the index of the sealed frame it lies in.
  void flip_sealed(Facts& facts, const std::string& object, std::int64_t offset) {
    const std::string path = repo_dir_ + "/" + object;
    const std::uint64_t at = offset < 0 ? size_of(path) - static_cast<std::uint64_t>(-offset) : static_cast<std::uint64_t>(offset);
    facts["object"] = object;
    facts["frame"] = std::to_string(sealed_frame_at(path, at));
    flip_byte(path, at);
  }

  // Pushes the segment the server has just finished into the repository, as archive_command
  // would. Records {segment}.
  void archive_one_segment(Facts& facts) {
    std::string name = cluster_->psql(
        "SELECT pg_walfile_name(CASE WHEN (l - '0/0'::pg_lsn) % pg_size_bytes(current_setting('wal_segment_size')) = 0 "
        "THEN l - 1 ELSE l END) FROM (SELECT pg_switch_wal() AS l) s");
    pgdr_ok({"archive-push", cluster_->data_dir() + "/pg_wal/" + name});
    facts["segment"] = name;
  }

  std::string older_snapshot(Facts& facts) {
    facts["older"] = facts.at("snapshot");
    facts["snapshot"] = backup();
    return facts.at("snapshot");
  }

  // A damaged snapshot info (the newest): info names it and still lists the intact older snapshot,
  // and a restore of "latest" takes that one and says what it left out.
  void expect_the_others_listed_and_restored(const Facts& f, const PgdrResult& info) {
    auto j = nlohmann::json::parse(info.out);
    ASSERT_EQ(j["repositories"][0]["snapshots"].size(), 1u);
    EXPECT_EQ(j["repositories"][0]["snapshots"][0]["id"], f.at("older"));
    EXPECT_EQ(j["repositories"][0]["damaged_snapshots"].size(), 1u);
    EXPECT_EQ(j["status"], "warning");
    const std::string reason = j["status_reason"];
    EXPECT_TRUE(reason.starts_with("1 damaged object in repository 'local': ")) << reason;
    EXPECT_NE(reason.find("corrupt object " + f.at("object")), std::string::npos) << reason;
    auto restore = pgdr({"restore", "--target-dir", f.at("target")});
    EXPECT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_NE(restore.err.find("restored snapshot " + f.at("older")), std::string::npos) << restore.err;
    EXPECT_NE(restore.err.find("left out when choosing the snapshot"), std::string::npos) << restore.err;
  }

 private:
  repo::Repository open_repo() const {
    return repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir_), "local", kPassphrase, "the test");
  }
  std::string path_of(const std::string& pack_id) const { return repo_dir_ + "/" + repo::pack_object(pack_id); }

  // The first pack by name, and its frames (offset -> length) as its trailer lists them.
  std::pair<std::string, std::map<std::uint32_t, std::uint32_t>> first_pack() {
    std::string pack = fs::path(objects("packs").front()).filename();
    std::map<std::uint32_t, std::uint32_t> frames;
    auto repo = open_repo();
    for (const auto& e : repo::read_pack_trailer(repo.store(), repo.key(), pack).entries) frames[e.offset] = e.length;
    return {pack, frames};
  }

  // The files of snapshot whose blocks lie in each frame of pack (by frame offset), in manifest order.
  std::map<std::uint32_t, std::vector<std::string>> frame_users(const std::string& snapshot, const std::string& pack) {
    std::map<std::uint32_t, std::vector<std::string>> users;
    auto repo = open_repo();
    repo::ManifestIndex index(repo.store(), snapshot, repo.key());
    for (const auto& e : index.entries()) {
      if (e.file.type != repo::EntryType::file || e.file.block_count == 0) continue;
      for (const auto& r : index.locations(e)) {
        if (r.is_zero() || index.pack_id(r.pack) != pack) continue;
        auto& u = users[r.offset];
        if (u.empty() || u.back() != e.file.path) u.push_back(e.file.path);
      }
    }
    return users;
  }

  // How verify names the files of snapshot that use pack: "<snapshot>:<first file>", then " and N
  // more" when there are others.
  std::string pack_files(const std::string& snapshot, const std::string& pack) {
    std::vector<std::string> files;
    auto repo = open_repo();
    repo::ManifestIndex index(repo.store(), snapshot, repo.key());
    for (const auto& e : index.entries()) {
      if (e.file.type != repo::EntryType::file || e.file.block_count == 0) continue;
      for (const auto& r : index.locations(e))
        if (!r.is_zero() && index.pack_id(r.pack) == pack) {
          files.push_back(e.file.path);
          break;
        }
    }
    if (files.empty()) return "<none>";
    return snapshot + ":" + files.front() + (files.size() > 1 ? " and " + std::to_string(files.size() - 1) + " more" : "");
  }

  // The index of the frame of a sealed object holding byte at (docs/REPOSITORY_FORMAT.md:
  // "PGDRSEAL" | version u8 | (sealed_length u32le | sealed)*); -1 when at is in no frame's
  // sealed bytes.
  static int sealed_frame_at(const std::string& path, std::uint64_t at) {
    std::string bytes = read_whole(path);
    std::uint64_t pos = 9;
    for (int index = 0; pos + 4 <= bytes.size(); ++index) {
      std::uint32_t len = 0;
      for (int i = 0; i < 4; ++i) len |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[pos + i])) << (8 * i);
      if (at >= pos + 4 && at < pos + 4 + len) return index;
      pos += 4 + len;
    }
    return -1;
  }
};

std::vector<CorruptionScenario> corruption_scenarios() {
  const std::vector<std::string> restore = {"restore", "--target-dir", "{target}"};
  auto nothing_startable = [](CorruptionTest&, const Facts& f, const PgdrResult&) {
    // pg_control is written last: nothing restored looks startable.
    EXPECT_FALSE(fs::exists(f.at("target") + "/global/pg_control"));
  };
  return {
      {"PackFrameFlipped_Restore", [](CorruptionTest& t, Facts& f) { t.flip_frame(f); }, restore, 1,
       "pgdr: corrupt pack {pack} in {repo} (frame at offset {offset}: frame: authentication failed, needed by {file})",
       nothing_startable},
      {"PackFrameFlipped_Verify", [](CorruptionTest& t, Facts& f) { t.flip_frame(f); }, {"verify"}, 2,
       "  [critical] corrupt pack {pack} (frame at offset {offset}: frame: authentication failed); affects snapshot "
       "{snapshot}; files {snapshot}:{file}",
       nullptr},
      {"PackCutInItsLastFrame_Restore", [](CorruptionTest& t, Facts& f) { t.cut_pack(f); }, restore, 1,
       "pgdr: object truncated: {store}/{pack} ends at {cut} bytes, wanted {body_end}",
       [](CorruptionTest&, const Facts& f, const PgdrResult& r) {
         // The trailer went with the cut: the other frames were read without their ids first.
         EXPECT_NE(r.err.find("pgdr: warning: corrupt pack " + f.at("pack") + " in " + f.at("repo") +
                              " (no pack tail (truncated?)): its blocks are restored without their ids"),
                   std::string::npos)
             << r.err;
         EXPECT_FALSE(fs::exists(f.at("target") + "/global/pg_control"));
       }},
      {"PackCutInItsLastFrame_Verify", [](CorruptionTest& t, Facts& f) { t.cut_pack(f); }, {"verify"}, 2,
       "  [critical] corrupt pack {pack} (no pack tail (truncated?)); affects snapshot {snapshot}; files {files}",
       nullptr},
      {"ManifestFlipped_Restore",
       [](CorruptionTest& t, Facts& f) {
         const std::string object = "snapshots/" + f.at("snapshot") + ".manifest";
         t.flip_sealed(f, object, static_cast<std::int64_t>(fs::file_size(f.at("repo_dir") + "/" + object) / 2));
       },
       restore, 1, "pgdr: corrupt object {object} in {store} (frame {frame} fails authentication)", nullptr},
      {"SnapshotInfoFlipped_Info",
       [](CorruptionTest& t, Facts& f) { t.flip_sealed(f, "snapshots/" + t.older_snapshot(f) + ".info", -5); },
       {"info", "--json"}, 1, "pgdr: corrupt object {object} in {store} (frame {frame} fails authentication)",
       [](CorruptionTest& t, const Facts& f, const PgdrResult& r) { t.expect_the_others_listed_and_restored(f, r); }},
      {"WalObjectFlipped_ArchiveGet",
       [](CorruptionTest& t, Facts& f) {
         t.archive_one_segment(f);
         t.flip_sealed(f, "wal/00000001/" + f.at("segment"), 100);
       },
       {"archive-get", "--prefetch", "0", "{segment}", "{target}"}, 126,
       "pgdr: unable to fetch WAL file {segment} intact from any repository; WAL file {segment} in repository 'local' "
       "is damaged: corrupt object {object} in {store} (frame {frame} fails authentication)",
       [](CorruptionTest&, const Facts& f, const PgdrResult&) { EXPECT_FALSE(fs::exists(f.at("target"))); }},
  };
}

TEST_P(CorruptionTest, IsNamedByTheCommand) {
  const CorruptionScenario& s = GetParam();
  small_database();
  pgdr_ok({"init"});
  Facts facts;
  facts["snapshot"] = backup();
  facts["repo_dir"] = repo_dir_;
  facts["store"] = "local directory " + repo_dir_;
  facts["repo"] = "repository 'local' (local directory " + repo_dir_ + ")";
  facts["target"] = work_->file("restored");
  s.damage(*this, facts);
  if (HasFatalFailure()) return;
  std::vector<std::string> args;
  for (const auto& a : s.command) args.push_back(fill(a, facts));
  auto r = pgdr(args);
  EXPECT_EQ(r.exit_code, s.exit_code) << "stderr:\n" << r.err << "stdout:\n" << r.out;
  const std::string line = fill(s.line, facts);
  EXPECT_TRUE(has_line(r.err, line) || has_line(r.out, line))
      << "expected the line\n" << line << "\nstderr:\n" << r.err << "stdout:\n" << r.out;
  if (line.starts_with("pgdr: ")) expect_one_line(r);
  if (s.then) s.then(*this, facts, r);
}

INSTANTIATE_TEST_SUITE_P(BadInput, CorruptionTest, ::testing::ValuesIn(corruption_scenarios()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pgdr::test
