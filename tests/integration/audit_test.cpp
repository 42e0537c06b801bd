// The audit log records backups, restores and verifies (who, when, what, result) in the
// repository, `pgdr audit` prints and checks it, and a changed entry is caught.
#include <filesystem>

#include "repo/audit_log.h"
#include "verify_support.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

class AuditTest : public VerifyFixture {};

TEST_F(AuditTest, BackupRestoreAndVerifyAreRecordedAndTheChainChecked) {
  pgdr_ok({"init"});
  std::string snap = backup();
  pgdr_ok({"restore", "--target-dir", work_->file("copy"), "--no-recovery-settings"});
  archive_now();
  auto v = verify();
  EXPECT_EQ(v.run.exit_code, 0) << v.run.out << v.run.err;
  // A failed action is recorded too: restoring onto a non-empty directory.
  auto failed = pgdr({"restore", "--target-dir", work_->file("copy")});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;

  auto out = pgdr({"audit", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  auto j = nlohmann::json::parse(out.out);
  EXPECT_EQ(j["intact"], true);
  auto e = j["entries"];
  ASSERT_EQ(e.size(), 4u) << e.dump(2);
  EXPECT_EQ(e[0]["command"], "backup");
  EXPECT_EQ(e[0]["what"], "snapshot " + snap);
  EXPECT_EQ(e[0]["result"], "OK");
  EXPECT_EQ(e[0]["user"], server_user());  // the tests run pgdr as the server user
  EXPECT_EQ(e[0]["host"], repo::current_host_name());
  EXPECT_EQ(e[0]["prev_sha256"], std::string(64, '0'));
  EXPECT_EQ(e[1]["command"], "restore");
  EXPECT_EQ(e[1]["result"], "OK");
  EXPECT_EQ(e[2]["command"], "verify");
  EXPECT_EQ(e[2]["result"], "PASS");
  EXPECT_TRUE(has(e[2]["details"], "checksums PASS")) << e[2].dump();
  EXPECT_EQ(e[3]["command"], "restore");
  EXPECT_EQ(e[3]["result"], "ERROR");
  EXPECT_FALSE(e[3]["details"].get<std::string>().empty());
  for (std::size_t i = 0; i < e.size(); ++i) EXPECT_EQ(e[i]["seq"], i + 1);
  EXPECT_FALSE(has(out.out, kPassphrase));

  auto text = pgdr({"audit"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_TRUE(has(text.out, "4 entries, chain intact")) << text.out;

  // One changed byte in the second entry.
  VerifyFixture::flip_byte(repo_dir_ + "/audit/0000000000000002", 20);
  auto broken = pgdr({"audit"});
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_TRUE(has(broken.out, "chain BROKEN")) << broken.out;
  EXPECT_TRUE(has(broken.err, "pgdr: the audit log of repository 'local' is not intact: corrupt audit entry "
                              "audit/0000000000000002")) << broken.err;
}

}  // namespace
}  // namespace pgdr::test
