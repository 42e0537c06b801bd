// Shared by the verify, alert and audit tests: a source cluster that archives its WAL into the
// test's repository, a catalog inside the test's directory, and helpers to run `pgdr verify` and
// read its JSON report.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pgdr_fixture.h"
#include "report_schema.h"

namespace pgdr::test {

class VerifyFixture : public PgdrTest {
 protected:
  PgClusterOptions cluster_options() override { return archiving({}); }
  void SetUp() override {
    PgdrTest::SetUp();
    write_verify_config("");
  }
  // The base configuration plus a catalog in the test's directory plus extra.
  void write_verify_config(const std::string& extra) {
    write_config("[catalog]\npath = \"" + work_->file("catalog.db") + "\"\n" + extra);
  }

  void archive_now() { PgdrTest::archive_now(*cluster_); }

  struct VerifyRun {
    PgdrResult run;
    nlohmann::json report;
    // The check named name ({} when absent).
    nlohmann::json check(const std::string& name) const {
      for (const auto& c : report.value("checks", nlohmann::json::array()))
        if (c["name"] == name) return c;
      return {};
    }
  };

  VerifyRun verify(std::vector<std::string> args = {}, std::vector<std::string> env = {}) {
    static int n = 0;
    std::string path = work_->file("report-" + std::to_string(++n) + ".json");
    args.insert(args.begin(), {"verify", "--report", path});
    VerifyRun v;
    v.run = pgdr(args, env);
    std::ifstream in(path);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      v.report = nlohmann::json::parse(ss.str());
    }
    last_report_path_ = path;
    return v;
  }

  // Validates the last report against docs/reports/verify.schema.json; "" when valid.
  std::string schema_errors() const { return report_schema_errors("verify", last_report_path_); }

  // Every pack file of the repository, largest first.
  std::vector<std::string> packs() const {
    std::vector<std::pair<std::uintmax_t, std::string>> found;
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo_dir_ + "/packs"))
      if (e.is_regular_file() && e.path().string().find(".tmp-") == std::string::npos)
        found.push_back({e.file_size(), e.path().string()});
    std::sort(found.rbegin(), found.rend());
    std::vector<std::string> out;
    for (auto& f : found) out.push_back(f.second);
    return out;
  }

  static void flip_byte(const std::string& path, std::uintmax_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f) << path;
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0xff);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  }

  // A snapshot, rows after it that only the archive holds, then verify --restore-test: it passes,
  // the copy replayed the archive, pg_amcheck was clean, and nothing of the copy is left.
  void expect_restore_test_passes() {
    std::string dr = work_->make_dir("dr");
    write_verify_config("[drill]\ndr_path = \"" + dr + "\"\n");
    pgdr_ok({"init"});
    cluster_->psql("CREATE TABLE canary(id int primary key, note text); INSERT INTO canary SELECT g, repeat('x', g % 3000) FROM generate_series(1, 3000) g");
    backup();
    // Rows after the snapshot reach the copy only through the archived WAL.
    cluster_->psql("INSERT INTO canary SELECT g, 'after' FROM generate_series(3001, 3500) g");
    archive_now();

    auto v = verify({"--restore-test"});
    EXPECT_EQ(v.run.exit_code, 0) << v.run.out << v.run.err;
    EXPECT_EQ(schema_errors(), "");
    auto c = v.check("restore_test");
    EXPECT_EQ(c["status"], "PASS") << c.dump(2);
    EXPECT_EQ(c["details"]["amcheck"]["ok"], true) << c.dump(2);
    bool found = false;
    for (const auto& t : c["details"]["tables_read"])
      if (t["table"] == "postgres.public.canary") {
        found = true;
        EXPECT_EQ(t["rows"], 3500) << "the archived WAL was not replayed";
      }
    EXPECT_TRUE(found) << c.dump(2);
    for (const char* step : {"restore_seconds", "start_seconds", "recovery_seconds", "amcheck_seconds", "stop_seconds"})
      EXPECT_GE(c["details"][step].get<double>(), 0) << step;
    EXPECT_TRUE(std::filesystem::is_empty(dr)) << "the throwaway cluster was left in " << dr;
  }

  std::string last_report_path_;
};

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace pgdr::test
