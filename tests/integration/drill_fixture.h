// The fixture of the drill and measure tests: a source cluster archiving into the test's
// repository, a DR path and a catalog in the test's directory, the shop's data, helpers to read
// reports, and the healthy drill that the 15 tests and the version matrix share.
#pragma once

#include <dirent.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pgdr_fixture.h"
#include "report_schema.h"

namespace pgdr::test {

class DrillTest : public PgdrTest {
 protected:
  using json = nlohmann::json;
  using Clock = std::chrono::steady_clock;
  PgClusterOptions cluster_options() override {
    PgClusterOptions o = archiving({});
    o.settings = extra_settings();
    return o;
  }
  virtual std::vector<std::string> extra_settings() { return {}; }

  void SetUp() override {
    PgdrTest::SetUp();
    dr_path_ = work_->make_dir("dr", 0755);
    write_drill_config();
    pgdr_ok({"init"});
  }

  void write_drill_config(const std::string& extra = "") {
    write_config("[drill]\ndr_path = \"" + dr_path_ + "\"\nheartbeat = true\n[catalog]\npath = \"" +
                 work_->file("catalog.db") + "\"\n" + extra);
  }

  void make_shop_data() {
    cluster_->psql(
        "CREATE TABLE stock (product int PRIMARY KEY, qty int NOT NULL);"
        "INSERT INTO stock SELECT g, 100 FROM generate_series(1, 20000) g;"
        "CREATE TABLE sales (id bigserial PRIMARY KEY, product int REFERENCES stock, sold_at timestamptz DEFAULT now());"
        "CREATE INDEX ON sales (sold_at);"
        "INSERT INTO sales (product) SELECT 1 + g % 20000 FROM generate_series(1, 50000) g;");
  }

  // A drill or measure report; each one read is also checked against its schema in docs/reports/.
  json read_json(const std::string& path) {
    std::ifstream in(path);
    json j;
    in >> j;
    if (j.is_object() && (j["kind"] == "drill" || j["kind"] == "measure")) {
      EXPECT_EQ(report_schema_errors(j["kind"].get<std::string>(), path), "") << path;
    }
    return j;
  }

  static const json& phase(const json& report, const std::string& name) {
    for (const auto& p : report["phases"])
      if (p["name"] == name) return p;
    static json none;
    ADD_FAILURE() << "no phase " << name;
    return none;
  }

  // Nothing of a drill left: no directory in dr_path, no server process running from it.
  void expect_nothing_left() {
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(dr_path_)) left.push_back(e.path());
    EXPECT_TRUE(left.empty()) << "left in the DR path: " << testing::PrintToString(left);
    DIR* proc = ::opendir("/proc");
    ASSERT_NE(proc, nullptr);
    while (const dirent* e = ::readdir(proc)) {
      std::ifstream cmd(std::string("/proc/") + e->d_name + "/cmdline");
      std::string line;
      std::getline(cmd, line, '\0');
      std::string all((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
      EXPECT_EQ((line + all).find(dr_path_), std::string::npos) << "a process still runs from the DR path: " << line << all;
    }
    ::closedir(proc);
  }

  // The shop's data, a snapshot and changes that only the archive holds, then a drill with a JSON
  // and an HTML report: it passes its five phases, each timed; its RTO is the sum of its components
  // and what the wall clock saw before integrity and rollback; its RPO comes from the heartbeat;
  // integrity compared the copy with the source and amcheck found nothing. j is the report.
  void expect_healthy_drill(json& j) {
    make_shop_data();
    backup();
    cluster_->psql("INSERT INTO sales (product) SELECT 1 + g % 20000 FROM generate_series(1, 5000) g;"
                   "UPDATE stock SET qty = qty - 1 WHERE product < 500;");
    archive_now(*cluster_);
    const std::string report = work_->file("drill.json");
    const auto start = Clock::now();
    auto r = pgdr({"drill", "--report", report, "--html", work_->file("drill.html")});
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << read_json(report).dump(2);
    j = read_json(report);
    EXPECT_EQ(j["result"], "PASS") << j.dump(2);
    std::vector<std::string> names;
    for (const auto& p : j["phases"]) {
      names.push_back(p["name"]);
      EXPECT_EQ(p["status"], "PASS") << p.dump(2);
      EXPECT_GT(p["seconds"].get<double>(), 0.0) << p.dump(2);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"prepare", "restore", "measure", "integrity", "rollback"}));
    // RTO covers prepare, restore, startup, replay and checks: the run's wall time minus what comes
    // after (integrity, rollback) and the process's own start (configuration, key derivation).
    const double rto = j["rto_seconds"].get<double>();
    const double after = phase(j, "integrity")["seconds"].get<double>() + phase(j, "rollback")["seconds"].get<double>();
    EXPECT_GT(rto, 0.0);
    EXPECT_NEAR(rto, wall - after, 1.0) << "wall " << wall << " s, after the RTO " << after << " s";
    double sum = 0;
    for (const auto& [k, v] : j["rto"]["components"].items()) sum += v.get<double>();
    EXPECT_NEAR(sum, rto, 0.25) << j["rto"].dump(2);
    EXPECT_EQ(j["rpo"]["source_method"], "heartbeat");
    EXPECT_GE(j["rpo_seconds"].get<double>(), 0.0);
    EXPECT_EQ(phase(j, "integrity")["details"]["compared_with_source"], true);
    EXPECT_EQ(phase(j, "integrity")["details"]["amcheck"]["ok"], true);
    EXPECT_EQ(phase(j, "integrity")["details"]["databases"]["postgres"]["result"], "PASS");
  }

  std::string dr_path_;
};

}  // namespace pgdr::test
