// The daemon's bearer token: what an Authorization header must carry, what each page lets through,
// and how the token is read from a file (whose mode is checked) or a variable.
#include "daemon/http_auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "daemon/secret_file.h"

namespace pgdr::daemon {
namespace {

std::string config_error_of(const DaemonConfig& config) {
  try {
    BearerToken::from_config(config);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "accepted";
}

class TokenFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgdr-auth-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST(BearerToken, AcceptsOnlyTheBearerSchemeWithTheWholeToken) {
  BearerToken t("s3cret-Token_42");
  EXPECT_TRUE(t.accepts("Bearer s3cret-Token_42"));
  EXPECT_TRUE(t.accepts("bearer s3cret-Token_42"));  // the scheme in any case (RFC 9110 11.1)
  EXPECT_TRUE(t.accepts("BEARER   s3cret-Token_42 "));
  EXPECT_FALSE(t.accepts(""));
  EXPECT_FALSE(t.accepts("Bearer"));
  EXPECT_FALSE(t.accepts("Bearer "));
  EXPECT_FALSE(t.accepts("s3cret-Token_42"));
  EXPECT_FALSE(t.accepts("Basic s3cret-Token_42"));
  EXPECT_FALSE(t.accepts("Bearers3cret-Token_42"));
  EXPECT_FALSE(t.accepts("Bearer s3cret-token_42"));    // the token is case-sensitive
  EXPECT_FALSE(t.accepts("Bearer s3cret-Token_4"));     // a prefix
  EXPECT_FALSE(t.accepts("Bearer s3cret-Token_422"));   // longer
  EXPECT_FALSE(t.accepts("Bearer s3cret-Token_42 x"));  // two words
}

TEST(BearerToken, HealthAloneAnswersWithoutTheTokenAndOnlyItsStatus) {
  BearerToken t("tok");
  EXPECT_EQ(access_for(nullptr, false, "/metrics", ""), Access::full);
  EXPECT_EQ(access_for(nullptr, true, "/health", ""), Access::full);
  EXPECT_EQ(access_for(&t, false, "/metrics", ""), Access::denied);
  EXPECT_EQ(access_for(&t, false, "/", "Bearer nope"), Access::denied);
  EXPECT_EQ(access_for(&t, false, "/reports/3", ""), Access::denied);
  EXPECT_EQ(access_for(&t, false, "/no-such-page", ""), Access::denied);
  EXPECT_EQ(access_for(&t, false, "/metrics", "Bearer tok"), Access::full);
  EXPECT_EQ(access_for(&t, false, "/health", ""), Access::status_only);
  EXPECT_EQ(access_for(&t, false, "/health", "Bearer tok"), Access::full);
  EXPECT_EQ(access_for(&t, false, "/health/", ""), Access::denied);
  EXPECT_EQ(access_for(&t, true, "/health", ""), Access::denied);
  EXPECT_EQ(access_for(&t, true, "/health", "Bearer tok"), Access::full);
}

TEST(BearerToken, TokenTextIsOneWordWithoutItsNewline) {
  EXPECT_EQ(token_text("abc123\n", "f"), "abc123");
  EXPECT_EQ(token_text("  abc123\r\n\n", "f"), "abc123");
  EXPECT_THROW(token_text("\n \n", "f"), Error);
  try {
    token_text("two words\n", "[daemon] auth_token_file '/t'");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "[daemon] auth_token_file '/t' holds a space or a control character: a token is one word");
    EXPECT_EQ(std::string(e.what()).find("two"), std::string::npos);
  }
}

TEST_F(TokenFile, ReadsAPrivateFileAndRefusesOneOpenToGroupOrOthers) {
  DaemonConfig c;
  c.auth_token_file = write("token", "file-token-1\n", 0600);
  auto t = BearerToken::from_config(c);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->accepts("Bearer file-token-1"));
  EXPECT_EQ(::chmod(c.auth_token_file.c_str(), 0400), 0);
  EXPECT_TRUE(BearerToken::from_config(c));

  for (mode_t wide : {0640, 0604, 0620, 0602, 0644}) {
    EXPECT_EQ(::chmod(c.auth_token_file.c_str(), wide), 0);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(wide));
    EXPECT_EQ(config_error_of(c), "[daemon] auth_token_file '" + c.auth_token_file +
                                      "' is readable or writable by group or others (mode " + mode + ")");
  }
  try {
    read_secret_file(c.auth_token_file, "[daemon] auth_token_file");
  } catch (const Error& e) {
    EXPECT_EQ(e.hint(), "chmod 600 " + c.auth_token_file + ", owned by the user that runs pgdr daemon");
  }

  c.auth_token_file = write("empty", "\n", 0600);
  EXPECT_EQ(config_error_of(c), "[daemon] auth_token_file '" + c.auth_token_file + "' holds no token");
  c.auth_token_file = dir_ + "/absent";
  EXPECT_EQ(config_error_of(c),
            "unable to read [daemon] auth_token_file '" + c.auth_token_file + "' (No such file or directory)");
  c.auth_token_file = dir_;
  EXPECT_EQ(::chmod(dir_.c_str(), 0700), 0);
  EXPECT_EQ(config_error_of(c), "[daemon] auth_token_file '" + dir_ + "' is not a regular file");
}

TEST(BearerToken, ReadsTheNamedVariable) {
  DaemonConfig c;
  EXPECT_FALSE(BearerToken::from_config(c));
  c.auth_token_env = "PGDR_UNIT_DAEMON_TOKEN";
  ::unsetenv("PGDR_UNIT_DAEMON_TOKEN");
  EXPECT_EQ(config_error_of(c), "[daemon] auth_token_env names PGDR_UNIT_DAEMON_TOKEN, which is not set");
  ::setenv("PGDR_UNIT_DAEMON_TOKEN", "env-token-7\n", 1);
  auto t = BearerToken::from_config(c);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->accepts("Bearer env-token-7"));
  ::unsetenv("PGDR_UNIT_DAEMON_TOKEN");
}

}  // namespace
}  // namespace pgdr::daemon
