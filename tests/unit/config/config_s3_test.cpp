// The [[repo]] keys of an S3 repository.
#include <gtest/gtest.h>

#include "config/config.h"
#include "core/error.h"

namespace pgdr {
namespace {

std::string config_error(const std::string& repo) {
  try {
    parse_config("[[repo]]\n" + repo, "pgdr.toml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigS3, FullS3Repository) {
  Config c = parse_config(R"(
[[repo]]
name = "s3-eu"
s3_endpoint = "https://s3.eu-west-3.amazonaws.com"
s3_bucket = "shop-backups"
s3_region = "eu-west-3"
s3_prefix = "prod/db1"
s3_uri_style = "path"
s3_ca_file = "/etc/ssl/certs/ca.pem"
s3_verify_tls = false
s3_key_env = "SHOP_KEY"
s3_secret_env = "SHOP_SECRET"
s3_token_env = "SHOP_TOKEN"
s3_connect_timeout = "5s"
s3_stall_timeout = "2m"
s3_attempts = 7
)",
                          "pgdr.toml");
  ASSERT_EQ(c.repos.size(), 1u);
  const RepoConfig& r = c.repos[0];
  EXPECT_TRUE(r.is_s3());
  EXPECT_TRUE(r.path.empty());
  EXPECT_EQ(r.s3_endpoint, "https://s3.eu-west-3.amazonaws.com");
  EXPECT_EQ(r.s3_bucket, "shop-backups");
  EXPECT_EQ(r.s3_region, "eu-west-3");
  EXPECT_EQ(r.s3_prefix, "prod/db1");
  EXPECT_EQ(r.s3_uri_style, "path");
  EXPECT_EQ(r.s3_ca_file, "/etc/ssl/certs/ca.pem");
  EXPECT_FALSE(r.s3_verify_tls);
  EXPECT_EQ(r.s3_key_env, "SHOP_KEY");
  EXPECT_EQ(r.s3_secret_env, "SHOP_SECRET");
  EXPECT_EQ(r.s3_token_env, "SHOP_TOKEN");
  EXPECT_EQ(r.s3_connect_timeout, std::chrono::seconds(5));
  EXPECT_EQ(r.s3_stall_timeout, std::chrono::minutes(2));
  EXPECT_EQ(r.s3_attempts, 7);
}

TEST(ConfigS3, Defaults) {
  Config c = parse_config("[[repo]]\nname = \"s3\"\ns3_endpoint = \"https://s3.amazonaws.com\"\ns3_bucket = \"b\"\n"
                          "s3_region = \"us-east-1\"\n",
                          "pgdr.toml");
  const RepoConfig& r = c.repos[0];
  EXPECT_EQ(r.s3_uri_style, "") << "chosen from the endpoint when the storage is opened";
  EXPECT_TRUE(r.s3_verify_tls);
  EXPECT_EQ(r.s3_key_env, "AWS_ACCESS_KEY_ID");
  EXPECT_EQ(r.s3_secret_env, "AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(r.s3_token_env, "AWS_SESSION_TOKEN");
  EXPECT_EQ(r.s3_stall_timeout, std::chrono::seconds(60));
  EXPECT_EQ(r.s3_attempts, 5);
  EXPECT_TRUE(r.s3_prefix.empty());
}

TEST(ConfigS3, LocalRepositoryIsUnchanged) {
  Config c = parse_config("[[repo]]\nname = \"local\"\npath = \"/srv/pgdr\"\n", "pgdr.toml");
  EXPECT_FALSE(c.repos[0].is_s3());
  EXPECT_EQ(c.repos[0].path, "/srv/pgdr");
}

TEST(ConfigS3, Mistakes) {
  const std::string s3 = "name = \"s3\"\ns3_endpoint = \"http://127.0.0.1:9000\"\ns3_bucket = \"b\"\ns3_region = \"us-east-1\"\n";
  EXPECT_EQ(config_error("name = \"r\"\n"),
            "invalid configuration: pgdr.toml:1 ([[repo]] 'r' needs path (a local directory) or s3_endpoint)");
  EXPECT_NE(config_error(s3 + "path = \"/srv\"\n").find("takes path or s3_endpoint, not both"), std::string::npos);
  EXPECT_NE(config_error("name = \"r\"\npath = \"/srv\"\ns3_bucket = \"b\"\n")
                .find("'s3_bucket' applies to an s3 repository, not one with path"),
            std::string::npos);
  EXPECT_NE(config_error("name = \"s3\"\ns3_endpoint = \"http://x\"\ns3_region = \"r\"\n").find("needs 's3_bucket'"),
            std::string::npos);
  EXPECT_NE(config_error("name = \"s3\"\ns3_endpoint = \"http://x\"\ns3_bucket = \"b\"\n").find("needs 's3_region'"),
            std::string::npos);
  EXPECT_NE(config_error(s3 + "s3_uri_style = \"virtual\"\n").find("s3_uri_style must be \"host\" or \"path\""),
            std::string::npos);
  EXPECT_NE(config_error(s3 + "s3_attempts = 0\n").find("between 1 and 100"), std::string::npos);
  EXPECT_NE(config_error(s3 + "s3_stall_timeout = \"100ms\"\n").find("between 1s and 1h"), std::string::npos);
  EXPECT_NE(config_error(s3 + "s3_verify_tls = \"no\"\n").find("must be true or false"), std::string::npos);
  EXPECT_NE(config_error(s3 + "s3_ca_file = \"ca.pem\"\n").find("s3_ca_file"), std::string::npos);
  EXPECT_NE(config_error(s3 + "s3_secret_env = \"\"\n").find("'s3_secret_env' in [repo] is empty"), std::string::npos);
  // A secret in the file is not a key pgdr knows.
  EXPECT_NE(config_error(s3 + "s3_secret = \"abc\"\n").find("unknown key 's3_secret'"), std::string::npos);
}

}  // namespace
}  // namespace pgdr
