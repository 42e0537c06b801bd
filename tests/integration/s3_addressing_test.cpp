// The two ways of addressing a bucket, and TLS: virtual-host requests reach the same keys as
// path-style ones, and an HTTPS endpoint is used only when its certificate verifies.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "core/subprocess.h"
#include "harness/s3_server.h"
#include "harness/temp_dir.h"
#include "storage/open_storage.h"
#include "storage/s3/s3_storage.h"
#include "unit/storage/storage_conformance.h"

namespace pgdr::test {
namespace {

using storage::S3Storage;
using storage::conformance::pattern;
using storage::conformance::sorted_paths;
using storage::s3::S3Addressing;

storage::s3::S3Config config(std::string endpoint, std::string bucket, S3Addressing addressing) {
  storage::s3::S3Config c;
  c.endpoint = std::move(endpoint);
  c.bucket = std::move(bucket);
  c.region = S3Server::kRegion;
  c.prefix = "repo";
  c.addressing = addressing;
  c.credentials.access_key_id = S3Server::kAccessKey;
  c.credentials.secret_access_key = SecretBytes(as_bytes(S3Server::kSecretKey));
  c.retry.base_delay = std::chrono::milliseconds(20);
  return c;
}

TEST(S3Addressing, VirtualHostReachesTheSameKeysAsPathStyle) {
  // s3rver takes "<bucket>.s3.localhost" as a virtual-host request; curl resolves every
  // "*.localhost" name to the loopback address itself (RFC 6761).
  S3Server::Options o;
  o.bucket = "pgdr-vhost";
  o.service_endpoint = "localhost";
  S3Server server(o);
  S3Storage vhost(config("http://s3.localhost:" + std::to_string(server.port()), "pgdr-vhost", S3Addressing::virtual_host));
  S3Storage path(config(server.endpoint(), "pgdr-vhost", S3Addressing::path));

  const Bytes big = pattern((9u << 20) + 5, 4);  // a multipart upload
  vhost.write_all("packs/ab/big", big);
  vhost.write_all("pgdr.repo", as_bytes("{}"));
  EXPECT_TRUE(vhost.create_exclusive("locks/writer", as_bytes("me")));
  EXPECT_FALSE(vhost.create_exclusive("locks/writer", as_bytes("you")));
  EXPECT_EQ(sorted_paths(vhost.list("")), (std::vector<std::string>{"locks/writer", "packs/ab/big", "pgdr.repo"}));
  EXPECT_EQ(sorted_paths(path.list("")), sorted_paths(vhost.list("")));
  EXPECT_EQ(path.read("packs/ab/big"), big);
  EXPECT_EQ(vhost.read_range("packs/ab/big", 8u << 20, 6), Bytes(big.begin() + (8u << 20), big.begin() + (8u << 20) + 6));
  vhost.remove("locks/writer");
  EXPECT_FALSE(path.stat("locks/writer").has_value());
}

TEST(S3Addressing, AnEndpointGivenAsAnAddressIsReachedPathStyleWithoutBeingTold) {
  S3Server::Options o;
  o.bucket = "pgdr-by-address";
  S3Server server(o);
  ASSERT_EQ(server.endpoint().rfind("http://127.0.0.1:", 0), 0u) << server.endpoint();
  ::setenv("PGDR_TEST_S3_KEY", S3Server::kAccessKey, 1);
  ::setenv("PGDR_TEST_S3_SECRET", S3Server::kSecretKey, 1);
  RepoConfig rc;
  rc.name = "by-address";
  rc.s3_endpoint = server.endpoint();
  rc.s3_bucket = "pgdr-by-address";
  rc.s3_region = S3Server::kRegion;
  rc.s3_prefix = "repo";
  rc.s3_key_env = "PGDR_TEST_S3_KEY";
  rc.s3_secret_env = "PGDR_TEST_S3_SECRET";
  ASSERT_EQ(rc.s3_uri_style, "");
  auto store = storage::open_storage(rc);
  store->write_all("pgdr.repo", as_bytes("{}"));
  EXPECT_EQ(store->read("pgdr.repo"), to_bytes("{}"));
  EXPECT_EQ(sorted_paths(store->list("")), std::vector<std::string>{"pgdr.repo"});

  // Told "host", the same endpoint is refused with the reason.
  rc.s3_uri_style = "host";
  try {
    storage::open_storage(rc);
    FAIL() << "virtual-host addressing accepted for an address";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is an address, and virtual-host addressing needs a host name"),
              std::string::npos)
        << e.what();
  }
}

class S3Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("pgdr-s3-tls");
    cert_ = dir_->file("cert.pem");
    key_ = dir_->file("key.pem");
    auto r = run_process({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                          "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key_, "-out", cert_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    S3Server::Options o;
    o.bucket = "pgdr-tls";
    o.cert_file = cert_;
    o.key_file = key_;
    server_ = std::make_unique<S3Server>(o);
  }
  std::unique_ptr<TempDir> dir_;
  std::string cert_, key_;
  std::unique_ptr<S3Server> server_;
};

TEST_F(S3Tls, VerifiedWithTheGivenCaFile) {
  auto c = config(server_->endpoint(), "pgdr-tls", S3Addressing::path);
  ASSERT_TRUE(c.endpoint.starts_with("https://"));
  c.ca_file = cert_;
  S3Storage s(std::move(c));
  s.write_all("x", as_bytes("over tls"));
  EXPECT_EQ(s.read("x"), to_bytes("over tls"));
}

TEST_F(S3Tls, UnknownCertificateIsRefusedAtOnce) {
  // The system trust store does not know the throwaway certificate: refused, and not retried
  // (it would fail the same way again).
  S3Storage s(config(server_->endpoint(), "pgdr-tls", S3Addressing::path));
  const std::uint64_t before = s.requests_sent();
  try {
    s.read("x");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::network);
    EXPECT_TRUE(what.starts_with("unable to read object s3://pgdr-tls/repo/x (")) << what;
    EXPECT_NE(what.find("certificate"), std::string::npos) << what;
    EXPECT_EQ(what.find("attempts"), std::string::npos) << what;
  }
  EXPECT_EQ(s.requests_sent() - before, 1u);

  // Verification off (a test endpoint only): the same server is used.
  auto c = config(server_->endpoint(), "pgdr-tls", S3Addressing::path);
  c.verify_tls = false;
  S3Storage unverified(std::move(c));
  unverified.write_all("y", as_bytes("unverified"));
  EXPECT_EQ(unverified.read("y"), to_bytes("unverified"));
}

}  // namespace
}  // namespace pgdr::test
