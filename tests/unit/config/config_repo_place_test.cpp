// Two [[repo]] sections naming one place would share one lock and one set of objects: refused
// when the configuration is read, naming both.
#include <gtest/gtest.h>

#include <unistd.h>

#include "../storage/temp_dir.h"
#include "config_test_support.h"
#include "core/path.h"

namespace pgdr {
namespace {

std::string local(const std::string& name, const std::string& path) {
  return "[[repo]]\nname = \"" + name + "\"\npath = \"" + path + "\"\n";
}

TEST(ConfigRepoPlace, OnePathSpelledTwiceIsRefused) {
  EXPECT_EQ(test::config_error_of(local("a", "/srv/pgdr") + local("b", "/srv//pgdr/./")),
            "invalid configuration: t.toml:4 (repositories 'a' and 'b' have one path: /srv/pgdr)");
  EXPECT_EQ(test::config_error_of(local("a", "/srv/pgdr") + local("b", "/srv/x/../pgdr")),
            "invalid configuration: t.toml:4 (repositories 'a' and 'b' have one path: /srv/pgdr)");
  EXPECT_EQ(test::config_error_of(local("a", "/srv/pgdr") + local("b", "/srv/pgdr2")), "<no error>");
}

TEST(ConfigRepoPlace, OnePathThroughALinkIsRefused) {
  test::TempDir dir;
  const std::string real = resolved_path(dir.path()) + "/repo";
  ASSERT_EQ(symlink(real.c_str(), (dir.path() + "/alias").c_str()), 0);
  EXPECT_EQ(test::config_error_of(local("a", real) + local("b", dir.path() + "/alias")),
            "invalid configuration: t.toml:4 (repositories 'a' and 'b' have one path: " + real + ")");
}

TEST(ConfigRepoPlace, OneBucketAndPrefixIsRefused) {
  auto s3 = [](const std::string& name, const std::string& endpoint, const std::string& prefix) {
    return "[[repo]]\nname = \"" + name + "\"\ns3_endpoint = \"" + endpoint +
           "\"\ns3_bucket = \"b\"\ns3_region = \"r\"\ns3_prefix = \"" + prefix + "\"\n";
  };
  EXPECT_EQ(test::config_error_of(s3("eu", "https://S3.example.com", "prod/") + s3("eu2", "https://s3.example.com/", "/prod")),
            "invalid configuration: t.toml:7 (repositories 'eu' and 'eu2' have one bucket and prefix: "
            "https://s3.example.com b/prod)");
  EXPECT_EQ(test::config_error_of(s3("eu", "https://s3.example.com", "prod") + s3("eu2", "https://s3.example.com", "test")),
            "<no error>");
}

}  // namespace
}  // namespace pgdr
