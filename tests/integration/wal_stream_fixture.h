// The fixture of the wal-stream tests: a source cluster whose WAL pgdr wal-stream receives into the
// test's repository (no archive_command), a load of clients that count their acknowledged commits,
// and the scenarios that the 15 tests and the version matrix share. The receiver is owned by the
// fixture and stopped in TearDown; the load's threads by the Load.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/error.h"
#include "harness/background_process.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pgdr_fixture.h"

namespace pgdr::test {

class WalStreamTest : public PgdrTest {
 protected:
  void SetUp() override {
    PgdrTest::SetUp();
    write_config(stream_settings());
  }
  void TearDown() override {
    stream_.reset();
    PgdrTest::TearDown();
  }

  virtual std::string stream_settings() { return "[stream]\nretry_max = \"1s\"\nflush_interval = \"200ms\"\n"; }

  void start_stream(std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {pgdr_path(), "--config", config_, "wal-stream"};
    argv.insert(argv.end(), args.begin(), args.end());
    stream_ = std::make_unique<BackgroundProcess>(
        argv, std::vector<std::string>{std::string("PGDR_PASSPHRASE=") + kPassphrase}, work_->file("wal-stream.log"));
  }

  // Waits until the server lists the receiver as streaming.
  void wait_connected(const PgCluster& c) {
    for (int i = 0; i < 300; ++i) {
      if (c.psql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pgdr_wal_stream' AND state = "
                 "'streaming'") == "1")
        return;
      ASSERT_TRUE(stream_->running()) << "wal-stream exited:\n" << stream_->log();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "wal-stream did not connect\n" << stream_->log();
  }

  nlohmann::json stream_info() {
    auto r = pgdr({"info", "--json"});
    if (r.exit_code != 0) return {};
    auto j = nlohmann::json::parse(r.out);
    return j["repositories"][0].value("wal_stream", nlohmann::json{});
  }

  // Waits until the repository holds the server's WAL up to its current position.
  void wait_streamed(const PgCluster& c) {
    pg::Lsn target =
        *pg::parse_lsn(c.psql("SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE "
                              "pg_current_wal_flush_lsn() END"));
    for (int i = 0; i < 300; ++i) {
      auto s = stream_info();
      if (s.is_object()) {
        auto lsn = pg::parse_lsn(s.value("flushed_lsn", ""));
        if (lsn && *lsn >= target) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    FAIL() << "the repository did not reach " << pg::to_string(target) << ": " << stream_info().dump() << "\n"
           << stream_->log();
  }

  std::unique_ptr<PgCluster> restore_latest(const std::string& name) {
    std::string dir = work_->file(name);
    auto r = pgdr({"restore", "--target-dir", dir});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return nullptr;
    auto restored = std::make_unique<PgCluster>(PgCluster::Adopt{dir}, with_passphrase({}));
    wait_recovered(*restored);
    return restored;
  }

  struct Load {
    std::vector<std::thread> threads;
    std::vector<std::int64_t> acked;  // per client, commits acknowledged
    std::vector<std::chrono::system_clock::time_point> last_ack;
    std::atomic<bool> stop{false};
    ~Load() { join(); }
    void join() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  };

  // clients connections each committing one row at a time (client, seq) until the server dies or
  // the load is stopped.
  void start_load(Load& load, const PgCluster& c, int clients) {
    c.psql(
        "CREATE TABLE IF NOT EXISTS acks (client int, seq bigint, at timestamptz DEFAULT clock_timestamp(), "
        "pad text, PRIMARY KEY (client, seq))");
    load.acked.assign(clients, 0);
    load.last_ack.assign(clients, {});
    for (int k = 0; k < clients; ++k) {
      load.threads.emplace_back([&load, conninfo = c.conninfo(), k] {
        try {
          pg::Connection conn(conninfo);
          while (!load.stop) {
            conn.exec("INSERT INTO acks (client, seq, pad) VALUES (" + std::to_string(k) + ", " +
                      std::to_string(load.acked[k]) + ", repeat('x', 200))");
            ++load.acked[k];
            load.last_ack[k] = std::chrono::system_clock::now();
          }
        } catch (const Error&) {
          // the server went away: what was acknowledged so far is what counts
        }
      });
    }
  }

  // Names the receiver in synchronous_standby_names and waits until the server treats it so.
  void make_stream_synchronous() {
    const std::string state = "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pgdr_wal_stream'";
    cluster_->psql("ALTER SYSTEM SET synchronous_standby_names = 'pgdr_wal_stream'");
    cluster_->psql("SELECT pg_reload_conf()");
    for (int i = 0; i < 100 && cluster_->psql(state) != "sync"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(cluster_->psql(state), "sync");
  }

  // Synchronous streaming (synchronous_standby_names naming the receiver) under four committing
  // clients, then kill -9 of the server: every commit a client saw acknowledged is in the restore.
  void expect_synchronous_stream_keeps_acknowledged_commits_through_kill9() {
    pgdr_ok({"init"});
    start_stream({"--create-slot", "--synchronous"});
    wait_connected(*cluster_);
    backup();
    ASSERT_NO_FATAL_FAILURE(make_stream_synchronous());

    Load load;
    start_load(load, *cluster_, 4);
    std::this_thread::sleep_for(std::chrono::seconds(5));
    cluster_->kill9();
    load.join();
    std::int64_t total = 0;
    for (auto n : load.acked) total += n;
    ASSERT_GT(total, 50) << "too few commits to prove anything";
    EXPECT_EQ(stream_->stop(), 0) << stream_->log();

    auto restored = restore_latest("restored");
    ASSERT_TRUE(restored);
    for (std::size_t k = 0; k < load.acked.size(); ++k) {
      EXPECT_EQ(restored->psql("SELECT count(*) FROM acks WHERE client = " + std::to_string(k) + " AND seq < " +
                               std::to_string(load.acked[k])),
                std::to_string(load.acked[k]))
          << "client " << k << " had " << load.acked[k] << " commits acknowledged";
    }
    std::printf("synchronous: %lld commits acknowledged by 4 clients in 5 s, all restored\n",
                static_cast<long long>(total));
  }

  std::unique_ptr<BackgroundProcess> stream_;
};

}  // namespace pgdr::test
