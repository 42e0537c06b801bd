// Several repositories at once: one backup pass writes the same snapshot to each, archive-push
// succeeds only once every repository holds the segment, and restore and archive-get fall back to
// the next repository for a missing or damaged object. Three local repositories, a, b and c.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "backup/backup.h"
#include "core/error.h"
#include "pgdr_fixture.h"
#include "repo/repository.h"
#include "repo/snapshot_info.h"
#include "restore/restore.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

// Forwards to a local directory, except that no snapshot info object can be committed: the last
// step of a backup fails there, after every pack and manifest is stored.
class NoInfoCommitStorage final : public storage::Storage {
 public:
  explicit NoInfoCommitStorage(const std::string& root) : inner_(root) {}
  std::string describe() const override { return inner_.describe(); }
  storage::Capabilities capabilities() const override { return inner_.capabilities(); }
  std::optional<Bytes> read(std::string_view path) const override { return inner_.read(path); }
  std::optional<Bytes> read_range(std::string_view path, std::uint64_t offset, std::uint64_t length) const override {
    return inner_.read_range(path, offset, length);
  }
  std::unique_ptr<storage::Writer> create(std::string_view path) override {
    auto w = inner_.create(path);
    if (!path.ends_with(".info")) return w;
    return std::make_unique<FailingWriter>(std::move(w), std::string(path));
  }
  bool create_exclusive(std::string_view path, ByteView data) override { return inner_.create_exclusive(path, data); }
  std::optional<storage::ObjectInfo> stat(std::string_view path) const override { return inner_.stat(path); }
  std::vector<storage::ObjectInfo> list(std::string_view prefix) const override { return inner_.list(prefix); }
  void remove(std::string_view path) override { inner_.remove(path); }

 private:
  class FailingWriter final : public storage::Writer {
   public:
    FailingWriter(std::unique_ptr<storage::Writer> inner, std::string path)
        : inner_(std::move(inner)), path_(std::move(path)) {}
    void write(ByteView data) override { inner_->write(data); }
    void commit() override { throw Error(ErrorKind::io, "unable to commit " + path_ + " (injected failure)"); }
    std::uint64_t size_bytes() const override { return inner_->size_bytes(); }

   private:
    std::unique_ptr<storage::Writer> inner_;  // destroyed uncommitted: its temporary goes
    std::string path_;
  };
  storage::PosixStorage inner_;
};

class MultiRepoTest : public PgdrTest {
 protected:
  void SetUp() override {
    PgdrTest::SetUp();
    std::string repos;
    for (const char* name : {"a", "b", "c"})
      repos += "[[repo]]\nname = \"" + std::string(name) + "\"\npath = \"" + repo(name) + "\"\n";
    config_ = work_->write_file("pgdr.toml", "[cluster]\nname = \"test\"\npgdata = \"" + cluster_->data_dir() +
                                                 "\"\nconninfo = \"" + cluster_->conninfo() + "\"\n" + repos +
                                                 "[key]\npassphrase_env = \"PGDR_PASSPHRASE\"\n[backup]\nprocess_max = 2\n");
  }

  // The source archives through pgdr, pushing ahead up to 3 segments per call.
  PgClusterOptions cluster_options() override {
    auto o = with_passphrase({});
    o.archive_command = pgdr_path() + " --config " + work_->file("pgdr.toml") + " archive-push --parallel 4 %p";
    return o;
  }

  std::string repo(const std::string& name) const { return work_->file("repo-" + name); }

  void add_data(const std::string& table, int rows) {
    cluster_->psql("CREATE TABLE " + table + " AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, " +
                   std::to_string(rows) + ") g");
  }

  // Snapshot ids per repository, from info --json.
  std::map<std::string, std::vector<std::string>> snapshots() {
    auto r = pgdr({"info", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, std::vector<std::string>> out;
    auto info = nlohmann::json::parse(r.out);
    for (const auto& repo : info["repositories"]) {
      auto& ids = out[repo["name"].get<std::string>()];
      for (const auto& s : repo["snapshots"]) ids.push_back(s["id"].get<std::string>());
    }
    return out;
  }

  std::vector<std::string> files_under(const std::string& dir) {
    std::vector<std::string> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  // Restores into a new directory with the given extra options, starts it, and returns its
  // fingerprint; the restore's result goes to *result.
  std::map<std::string, std::string> restore_and_fingerprint(const std::vector<std::string>& extra,
                                                             PgdrResult* result = nullptr) {
    static int n = 0;
    std::string dir = work_->file("restored-" + std::to_string(++n));
    std::vector<std::string> args = {"restore", "--target-dir", dir, "--no-recovery-settings"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = pgdr(args);
    if (result) *result = r;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return {};
    PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(restored);
    return fingerprint(restored);
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

  static int count_lines(const std::string& s, const std::string& needle) {
    int n = 0;
    for (std::size_t at = 0; (at = s.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
    return n;
  }

  void archive_now() { PgdrTest::archive_now(*cluster_); }
};

TEST_F(MultiRepoTest, BackupWritesEveryRepositoryAndEachRestoresAlone) {
  auto init = pgdr_ok({"init"});
  for (const char* name : {"a", "b", "c"})
    EXPECT_NE(init.find("created repository '" + std::string(name) + "'"), std::string::npos) << init;
  add_data("sales", 200000);
  std::string first = backup();
  cluster_->psql("UPDATE sales SET v = 'changed' WHERE id % 1000 = 0; CREATE TABLE returns AS SELECT 1 AS id");
  auto r = pgdr({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string second = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(r.out, second + "\n");  // the id alone on stdout, once
  // Each repository reports what it stored: the second snapshot reuses its own earlier blocks.
  for (const char* name : {"a", "b", "c"})
    EXPECT_NE(r.err.find("repository '" + std::string(name) + "': "), std::string::npos) << r.err;

  auto snaps = snapshots();
  for (const char* name : {"a", "b", "c"})
    EXPECT_EQ(snaps[name], (std::vector<std::string>{first, second})) << name;
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  for (const auto& repo : info["repositories"]) {
    const auto& s = repo["snapshots"][1];
    EXPECT_GT(s["reused_blocks"].get<std::uint64_t>(), s["new_blocks"].get<std::uint64_t>()) << repo["name"];
    EXPECT_EQ(s["previous_snapshot"], first) << repo["name"];
  }
  // Each repository has its own keys: no pack name or pack content is shared.
  auto packs_a = files_under(repo("a") + "/packs"), packs_b = files_under(repo("b") + "/packs");
  ASSERT_FALSE(packs_a.empty());
  for (auto& p : packs_b) p.replace(0, repo("b").size(), repo("a"));
  std::vector<std::string> shared;
  std::set_intersection(packs_a.begin(), packs_a.end(), packs_b.begin(), packs_b.end(), std::back_inserter(shared));
  EXPECT_TRUE(shared.empty());

  auto source = fingerprint(*cluster_);
  ASSERT_EQ(source.count("public.returns"), 1u);
  for (const char* name : {"a", "b", "c"}) {
    PgdrResult rr;
    EXPECT_EQ(restore_and_fingerprint({"--repo", name}, &rr), source) << name;
    EXPECT_NE(rr.err.find("restored snapshot " + second), std::string::npos) << rr.err;
    EXPECT_EQ(rr.err.find("warning"), std::string::npos) << rr.err;
  }
}

TEST_F(MultiRepoTest, RepoOptionWritesToThatRepositoryOnly) {
  pgdr_ok({"init"});
  add_data("sales", 20000);
  auto only_b = pgdr_ok({"backup", "--repo", "b"});
  only_b.pop_back();
  auto snaps = snapshots();
  EXPECT_TRUE(snaps["a"].empty());
  EXPECT_EQ(snaps["b"], std::vector<std::string>{only_b});
  EXPECT_TRUE(snaps["c"].empty());
  EXPECT_TRUE(files_under(repo("a") + "/packs").empty());
  EXPECT_TRUE(files_under(repo("c") + "/packs").empty());

  // Restore finds the snapshot where it is, and says which repository it read.
  auto source = fingerprint(*cluster_);
  EXPECT_EQ(restore_and_fingerprint({}), source);
  auto r = pgdr({"restore", "--repo", "a", "--target-dir", work_->file("from-a")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pgdr: no snapshot in repository 'a'"), std::string::npos) << r.err;

  auto unknown = pgdr({"backup", "--repo", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no repository named 'nope'"), std::string::npos) << unknown.err;
}

TEST_F(MultiRepoTest, ArchivePushFailsUntilEveryRepositoryHoldsTheSegment) {
  pgdr_ok({"init"});
  archive_now();
  std::string wal_b = repo("b") + "/wal";
  ASSERT_TRUE(fs::exists(wal_b));
  ASSERT_EQ(chmod(wal_b.c_str(), 0), 0);
  // Three segments while b refuses: none may count as archived, none gets a push-ahead marker.
  std::string failed;
  for (int i = 0; i < 3; ++i) {
    cluster_->psql("CREATE TABLE t" + std::to_string(i) + " AS SELECT generate_series(1, 1000) v");
    std::string seg = cluster_->psql("SELECT pg_walfile_name(pg_switch_wal())");
    if (failed.empty()) failed = seg;
  }
  for (int i = 0; i < 300 && cluster_->psql("SELECT failed_count FROM pg_stat_archiver") == "0"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(cluster_->psql("SELECT last_failed_wal FROM pg_stat_archiver"), failed);
  EXPECT_LT(cluster_->psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"), failed);
  EXPECT_NE(cluster_->log().find("pgdr: unable to archive " + failed + " in repository 'b'"), std::string::npos)
      << cluster_->log();
  EXPECT_TRUE(files_under(cluster_->data_dir() + "/pg_wal/pgdr-archived").empty());
  // The repositories that could take it have it: a retry must accept their copy as the same file.
  EXPECT_TRUE(fs::exists(repo("a") + "/wal/00000001/" + failed));

  ASSERT_EQ(chmod(wal_b.c_str(), 0700), 0);
  archive_now();
  EXPECT_GE(std::stoi(cluster_->psql("SELECT archived_count FROM pg_stat_archiver")), 4);
  for (const char* name : {"a", "b", "c"}) {
    std::string dest = work_->file(std::string("fetched-") + name);
    auto get = pgdr({"archive-get", "--prefetch", "0", "--repo", name, failed, dest});
    EXPECT_EQ(get.exit_code, 0) << name << ": " << get.err;
    EXPECT_EQ(fs::file_size(dest), 16u << 20) << name;
  }
}

TEST_F(MultiRepoTest, RestoreReadsDamagedPacksFromTheNextRepository) {
  pgdr_ok({"init"});
  add_data("sales", 300000);
  std::string id = backup();
  auto source = fingerprint(*cluster_);
  auto packs = files_under(repo("a") + "/packs");
  ASSERT_GE(packs.size(), 2u);
  // One pack of a damaged, another gone.
  std::string damaged = packs[0], missing = packs[1];
  flip_byte(damaged, fs::file_size(damaged) / 3);
  fs::remove(missing);
  std::string damaged_name = fs::path(damaged).filename(), missing_name = fs::path(missing).filename();

  PgdrResult r;
  EXPECT_EQ(restore_and_fingerprint({}, &r), source);
  EXPECT_NE(r.err.find("restored snapshot " + id), std::string::npos) << r.err;
  // One warning line per object, naming the repository, the object and where it is read instead.
  const std::string corrupt = "pgdr: warning: corrupt pack packs/" + damaged_name.substr(0, 2) + "/" + damaged_name +
                              " in repository 'a'";
  const std::string gone = "pgdr: warning: missing pack packs/" + missing_name.substr(0, 2) + "/" + missing_name;
  EXPECT_EQ(count_lines(r.err, corrupt), 1) << r.err;
  EXPECT_EQ(count_lines(r.err, gone), 1) << r.err;
  for (const auto& line : {corrupt, gone}) {
    std::string l = r.err.substr(r.err.find(line));
    l = l.substr(0, l.find('\n'));
    EXPECT_TRUE(l.ends_with("; reading it from repository 'b'")) << l;
    EXPECT_NE(l.find("in repository 'a'"), std::string::npos) << l;
  }

  // Restricted to a, the damage is an error.
  auto only_a = pgdr({"restore", "--repo", "a", "--target-dir", work_->file("only-a"), "--no-recovery-settings"});
  EXPECT_EQ(only_a.exit_code, 1);
  EXPECT_TRUE(only_a.err.starts_with("pgdr: corrupt pack") || only_a.err.starts_with("pgdr: missing pack")) << only_a.err;
  EXPECT_FALSE(fs::exists(work_->file("only-a/global/pg_control")));

  // A damaged manifest in a: the whole snapshot is read from b.
  std::string manifest = repo("a") + "/snapshots/" + id + ".manifest";
  flip_byte(manifest, fs::file_size(manifest) / 2);
  PgdrResult m;
  EXPECT_EQ(restore_and_fingerprint({}, &m), source);
  EXPECT_NE(m.err.find("corrupt object snapshots/" + id + ".manifest"), std::string::npos) << m.err;
  EXPECT_NE(m.err.find("; reading snapshot " + id + " from repository 'b'"), std::string::npos) << m.err;
}

TEST_F(MultiRepoTest, ArchiveGetFallsBackForDamagedOrMissingSegments) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT generate_series(1, 10000) v");
  std::string name = cluster_->psql("SELECT pg_walfile_name(pg_current_wal_lsn())");
  archive_now();
  std::string object = "/wal/00000001/" + name;
  for (const char* r : {"a", "b", "c"}) ASSERT_TRUE(fs::exists(repo(r) + object)) << r;
  std::string good = work_->file("good");
  ASSERT_EQ(pgdr({"archive-get", "--prefetch", "0", "--repo", "c", name, good}).exit_code, 0);

  flip_byte(repo("a") + object, 100);
  fs::remove(repo("b") + object);
  std::string dest = work_->file("RECOVERYXLOG");
  auto r = pgdr({"archive-get", "--prefetch", "0", name, dest});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream x(dest, std::ios::binary), y(good, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(x)), {}), want((std::istreambuf_iterator<char>(y)), {});
  EXPECT_EQ(got.size(), 16u << 20);
  EXPECT_TRUE(got == want);
  EXPECT_NE(r.err.find("pgdr: warning: WAL file " + name + " in repository 'a' is damaged: corrupt object wal/00000001/" +
                       name),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("pgdr: warning: WAL file " + name + " is missing from repository 'b'"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err, "; read it from repository 'c'\n"), 2) << r.err;

  // Restricted to a, the damage stops recovery (126) instead of ending it.
  auto only_a = pgdr({"archive-get", "--prefetch", "0", "--repo", "a", name, work_->file("x")});
  EXPECT_EQ(only_a.exit_code, 126) << only_a.err;
  // Restricted to b, where it is simply missing: the end of the archive.
  auto only_b = pgdr({"archive-get", "--prefetch", "0", "--repo", "b", name, work_->file("y")});
  EXPECT_EQ(only_b.exit_code, 1) << only_b.err;
}

TEST_F(MultiRepoTest, RepositoryFailingMidBackupLeavesNoSnapshot) {
  pgdr_ok({"init"});
  add_data("sales", 100000);
  // c refuses new packs: its first pack fails after a and b have begun storing theirs.
  std::string packs_c = repo("c") + "/packs";
  fs::create_directories(packs_c);
  ASSERT_EQ(chown(packs_c.c_str(), server_uid(), server_gid()), 0);
  ASSERT_EQ(chmod(packs_c.c_str(), 0500), 0);
  auto r = pgdr({"backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(r.err.starts_with("pgdr: unable to write snapshot ")) << r.err;
  EXPECT_NE(r.err.find(" to repository 'c': "), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err, "\n"), 1) << r.err;
  auto after_failure = snapshots();
  ASSERT_EQ(after_failure.size(), 3u);
  for (const auto& [name, ids] : after_failure) EXPECT_TRUE(ids.empty()) << name;
  for (const char* name : {"a", "b", "c"}) EXPECT_TRUE(files_under(repo(name) + "/snapshots").empty()) << name;
  // Nothing was left locked.
  for (const char* name : {"a", "b", "c"}) EXPECT_TRUE(files_under(repo(name) + "/locks").empty()) << name;

  ASSERT_EQ(chmod(packs_c.c_str(), 0700), 0);
  std::string id = backup();
  auto after_fix = snapshots();
  ASSERT_EQ(after_fix.size(), 3u);
  for (const auto& [name, ids] : after_fix) EXPECT_EQ(ids, std::vector<std::string>{id}) << name;
  EXPECT_EQ(restore_and_fingerprint({"--repo", "c"}), fingerprint(*cluster_));
}

TEST_F(MultiRepoTest, InfoAndRestoreGoOnPastARepositoryThatIsGone) {
  pgdr_ok({"init"});
  std::string id = backup();
  archive_now();
  auto info = nlohmann::json::parse(pgdr_ok({"info", "--json"}));
  EXPECT_EQ(info["status"], "ok");
  EXPECT_EQ(info["status_reason"], "every repository is readable and no snapshot is damaged");
  ASSERT_EQ(info["repositories"].size(), 3u);
  for (const auto& repo : info["repositories"]) {
    EXPECT_EQ(repo["snapshots"][0]["id"], id);
    EXPECT_EQ(repo["wal_archive"]["timelines"].size(), 1u);
  }
  // The first repository is lost (its disk, its site).
  fs::rename(repo("a"), work_->file("repo-a-away"));
  auto r = pgdr({"info"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("repository 'a': unavailable (no repository 'a' at"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("repository 'b': "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("repository 'c': "), std::string::npos) << r.out;
  EXPECT_EQ(count_lines(r.out, id), 2) << r.out;
  EXPECT_TRUE(r.err.starts_with("pgdr: no repository 'a' at")) << r.err;
  auto j = pgdr({"info", "--json"});
  EXPECT_EQ(j.exit_code, 1);
  const auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["status"], "error");
  EXPECT_TRUE(doc["status_reason"].get<std::string>().starts_with("repository 'a' unavailable: no repository 'a' at"))
      << doc["status_reason"];
  auto jr = doc["repositories"];
  ASSERT_EQ(jr.size(), 3u);
  EXPECT_NE(jr[0]["error"].get<std::string>().find("no repository 'a'"), std::string::npos);
  EXPECT_EQ(jr[1]["snapshots"][0]["id"], id);

  // Restore takes the snapshot from the others, and says what it skipped.
  std::string dir = work_->file("restored");
  auto restore = pgdr({"restore", "--target-dir", dir, "--immediate", "--target-action", "promote"});
  EXPECT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_NE(restore.err.find("pgdr: warning: no repository 'a' at"), std::string::npos) << restore.err;
  EXPECT_NE(restore.err.find("(restoring from the other repositories)"), std::string::npos) << restore.err;
  EXPECT_NE(restore.err.find("restored snapshot " + id), std::string::npos) << restore.err;
  EXPECT_TRUE(fs::exists(dir + "/global/pg_control"));
}

// The one step that is not atomic across repositories: writing the info objects, one repository
// after the other. A failure there leaves the snapshot in the repositories already committed,
// complete and restorable, and the error says which.
TEST_F(MultiRepoTest, FailureWhileCommittingNamesWhereTheSnapshotIsComplete) {
  pgdr_ok({"init"});
  add_data("sales", 50000);
  auto open = [&](const std::string& name, std::unique_ptr<storage::Storage> store) {
    return repo::Repository::open(std::move(store), name, kPassphrase, "the test");
  };
  repo::Repository a = open("a", std::make_unique<storage::PosixStorage>(repo("a")));
  repo::Repository b = open("b", std::make_unique<storage::PosixStorage>(repo("b")));
  repo::Repository c = open("c", std::make_unique<NoInfoCommitStorage>(repo("c")));
  ClusterConfig cluster{"test", cluster_->data_dir(), cluster_->conninfo(), ""};
  std::string message;
  try {
    backup::run_backup(cluster, std::vector<repo::Repository*>{&a, &b, &c}, backup::BackupOptions{});
    ADD_FAILURE() << "the backup succeeded";
  } catch (const Error& e) {
    message = e.what();
  }
  auto in = [](const repo::Repository& r) { return repo::list_snapshots(r.store(), r.key()); };
  ASSERT_EQ(in(a).size(), 1u);
  std::string id = in(a)[0].id;
  EXPECT_EQ(message, "unable to write snapshot " + id + " to repository 'c': unable to commit snapshots/" + id +
                         ".info (injected failure); the snapshot is complete in repository 'a', 'b' only");
  ASSERT_EQ(in(b).size(), 1u);
  EXPECT_EQ(in(b)[0].id, id);
  EXPECT_TRUE(in(c).empty());
  EXPECT_FALSE(fs::exists(repo("c") + "/locks/writer"));

  // What b holds restores alone.
  std::string dir = work_->file("from-b");
  restore::RestoreOptions opt;
  opt.target_dir = dir;
  opt.recovery_settings = false;
  restore::run_restore(std::vector<const repo::Repository*>{&b}, opt);
  PgCluster restored(PgCluster::Adopt{dir}, with_passphrase({}));
  wait_recovered(restored);
  EXPECT_EQ(fingerprint(restored), fingerprint(*cluster_));
}

}  // namespace
}  // namespace pgdr::test
