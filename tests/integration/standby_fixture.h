// A primary that archives into the test's repository with pgdr archive-push, and streaming
// standbys of it that pgdr backs up as [cluster]. A standby is made by pg_basebackup (the 15
// client programs, which stream from 15 only) or, on any major, by `pgdr restore --standby` of a
// snapshot of the primary with primary_conninfo added; either way it streams from the primary.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/error.h"
#include "pgdr_fixture.h"

namespace pgdr::test {

class StandbyFixture : public PgdrTest {
 protected:
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = archiving({});
    // archive_timeout bounds how stale the archive is; wal_keep_size keeps a slow standby streaming.
    o.settings.push_back("archive_timeout = 1");
    o.settings.push_back("wal_keep_size = 512MB");
    return o;
  }

  // A standby of the primary by pg_basebackup -R (standby.signal and primary_conninfo), started.
  std::unique_ptr<PgCluster> standby_by_basebackup(const std::string& name) {
    std::string dir = work_->make_dir(name);
    give_to_server_user(dir);
    auto r = PgCluster::run_as_server_user({PgCluster::bin("pg_basebackup"), "-D", dir, "-h", "127.0.0.1", "-p",
                                            std::to_string(cluster_->port()), "-U", "postgres", "-R", "-X", "stream",
                                            "-c", "fast"});
    if (r.exit_code != 0) throw Error(ErrorKind::postgres, "pg_basebackup failed: " + r.err);
    return std::make_unique<PgCluster>(PgCluster::Adopt{dir}, with_passphrase({}));
  }

  // A standby restored from the primary's newest snapshot that streams from the primary, started.
  std::unique_ptr<PgCluster> standby_by_restore(const std::string& name) {
    std::string dir = work_->file(name);
    pgdr_ok({"restore", "--standby", "--target-dir", dir});
    PgClusterOptions o = with_passphrase({});
    o.start = false;
    auto standby = std::make_unique<PgCluster>(PgCluster::Adopt{dir}, o);
    standby->append_config("primary_conninfo = '" + cluster_->conninfo() + "'");
    standby->start();
    return standby;
  }

  // The configuration names c as [cluster] (the primary's archive-push reads only its name).
  void configure_cluster(const PgCluster& c) {
    config_ = work_->write_file("pgdr.toml", "[cluster]\nname = \"test\"\npgdata = \"" + c.data_dir() +
                                                 "\"\nconninfo = \"" + c.conninfo() + "\"\n" + pg_bindir_toml(c) +
                                                 repo_toml() +
                                                 "[key]\npassphrase_env = \"PGDR_PASSPHRASE\"\n[backup]\nprocess_max = 2\n");
  }

  // Waits until standby has replayed the primary's WAL as far as it is written now.
  void wait_replayed(const PgCluster& standby, int timeout_seconds = 120) {
    std::string lsn = cluster_->psql("SELECT pg_current_wal_lsn()");
    for (int i = 0; i < timeout_seconds * 10; ++i) {
      if (standby.psql("SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn") == "t") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the standby did not replay up to " << lsn << " in " << timeout_seconds << " s";
  }

  // Restores snapshot to its consistent point alone (--immediate), promoted, and starts it.
  std::unique_ptr<PgCluster> restore_immediate(const std::string& snapshot, const std::string& name) {
    std::string dir = work_->file(name);
    pgdr_ok({"restore", "--target-dir", dir, "--snapshot", snapshot, "--immediate", "--target-action", "promote"});
    auto restored = std::make_unique<PgCluster>(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(*restored);
    return restored;
  }
};

}  // namespace pgdr::test
