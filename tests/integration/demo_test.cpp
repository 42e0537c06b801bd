// pgdr demo end to end at a small scale, as a newcomer runs it: its summary and reports, and
// nothing left running or lying around afterwards.
#include <dirent.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/pgdr_runner.h"
#include "harness/temp_dir.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

TEST(DemoTest, DestroysThePrimaryAndRecoversItWithAPassingDrill) {
  TempDir work("pgdr-demo-test");
  const std::string tmp = work.make_dir("tmp", 0755), out = work.make_dir("out", 0755);
  auto r = run_pgdr({"demo", "--scale", "0.05", "--duration", "4s", "--output", out}, {"TMPDIR=" + tmp},
                    /*as_server_user=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("result     PASS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RTO"), std::string::npos);
  EXPECT_NE(r.out.find("RPO"), std::string::npos);
  EXPECT_NE(r.out.find("integrity  PASS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nothing is left running"), std::string::npos);
  // Progress went to stderr, step by step.
  EXPECT_NE(r.err.find("[1/7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("disaster"), std::string::npos) << r.err;

  std::ifstream in(out + "/drill.json");
  nlohmann::json j;
  in >> j;
  EXPECT_EQ(j["result"], "PASS") << j.dump(2);
  ASSERT_TRUE(j["rto_seconds"].is_number());
  ASSERT_TRUE(j["rpo_seconds"].is_number());
  EXPECT_GT(j["rto_seconds"].get<double>(), 0.0);
  EXPECT_GT(j["rpo_seconds"].get<double>(), 0.0);
  EXPECT_EQ(j["rpo"]["source_method"], "heartbeat");
  for (const auto& p : j["phases"]) {
    if (p["name"] != "integrity") continue;
    EXPECT_EQ(p["status"], "PASS") << p.dump(2);
    EXPECT_EQ(p["details"]["compared_with_source"], true);
  }
  EXPECT_GT(j["demo"]["sales_transactions"].get<long>(), 0);
  EXPECT_EQ(j["demo"]["snapshots"].size(), 2u);
  EXPECT_TRUE(fs::exists(out + "/drill.html"));

  // Nothing left: the work directory is gone and no process runs from it.
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp)) left.push_back(e.path());
  EXPECT_TRUE(left.empty()) << testing::PrintToString(left);
  DIR* proc = ::opendir("/proc");
  ASSERT_NE(proc, nullptr);
  while (const dirent* e = ::readdir(proc)) {
    std::ifstream cmd(std::string("/proc/") + e->d_name + "/cmdline");
    std::string all((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    EXPECT_EQ(all.find(tmp), std::string::npos) << "still running: " << all;
  }
  ::closedir(proc);
}

TEST(DemoTest, RefusesANonEmptyDirectoryAndABadScale) {
  TempDir work("pgdr-demo-test");
  work.make_dir("busy", 0755);
  work.write_file("busy/file", "x");
  auto r = run_pgdr({"demo", "--dir", work.file("busy"), "--output", work.file("out")}, {}, false);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r.err;
  r = run_pgdr({"demo", "--scale", "0", "--output", work.file("out")}, {}, false);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--scale"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(work.file("busy/file")));
}

}  // namespace
}  // namespace pgdr::test
