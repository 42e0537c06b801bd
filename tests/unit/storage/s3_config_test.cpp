#include "storage/s3/s3_config.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "storage/s3/sigv4.h"

namespace pgdr::storage::s3 {
namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

S3Config config(std::string endpoint, std::string bucket, std::string prefix, S3Addressing addressing) {
  S3Config c;
  c.endpoint = std::move(endpoint);
  c.bucket = std::move(bucket);
  c.region = "eu-west-1";
  c.prefix = std::move(prefix);
  c.addressing = addressing;
  c.credentials.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  c.credentials.secret_access_key = SecretBytes(as_bytes(kSecret));
  return c;
}

S3Config local_path_style() { return config("http://127.0.0.1:4568", "pgdr-test", "/prod/db1/", S3Addressing::path); }
S3Config aws_virtual_host() {
  return config("https://s3.eu-west-1.amazonaws.com", "examplebucket", "", S3Addressing::virtual_host);
}

TEST(S3Endpoint, ParsesSchemeHostAndPort) {
  S3Endpoint e = parse_endpoint("https://s3.eu-west-1.amazonaws.com");
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.host, "s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(e.port);
  EXPECT_EQ(e.origin(), "https://s3.eu-west-1.amazonaws.com");

  e = parse_endpoint("http://127.0.0.1:4568");
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 4568);
  EXPECT_EQ(e.authority(), "127.0.0.1:4568");
  EXPECT_EQ(e.origin(), "http://127.0.0.1:4568");

  // A bare host is https; case and a final '/' do not matter.
  e = parse_endpoint("S3.Example.COM/");
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.host, "s3.example.com");

  // The scheme's own port is left out of Host, as HTTP clients leave it out.
  EXPECT_FALSE(parse_endpoint("HTTPS://minio.lan:443").port);
  EXPECT_EQ(parse_endpoint("http://minio.lan:443").port, 443);
  EXPECT_FALSE(parse_endpoint("http://minio.lan:80").port);

  e = parse_endpoint("http://[::1]:9000");
  EXPECT_EQ(e.host, "[::1]");
  EXPECT_EQ(e.authority(), "[::1]:9000");
}

void expect_config_error(const std::string& message, const std::function<void()>& body) {
  try {
    body();
    ADD_FAILURE() << "no error for: " << message;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_EQ(std::string(e.what()), message);
    EXPECT_EQ(std::string(e.what()).find("EXAMPLEKEY"), std::string::npos);
    EXPECT_EQ(e.hint().find("EXAMPLEKEY"), std::string::npos);
  }
}

TEST(S3Endpoint, RefusesWhatIsNotAnOrigin) {
  expect_config_error("s3 endpoint is empty", [] { parse_endpoint(""); });
  expect_config_error("invalid s3 endpoint: unsupported scheme 'ftp' (http or https)",
                      [] { parse_endpoint("ftp://s3.example.com"); });
  expect_config_error("invalid s3 endpoint 'https://s3.example.com/bucket': it has a path, query or fragment",
                      [] { parse_endpoint("https://s3.example.com/bucket"); });
  expect_config_error("invalid s3 endpoint 'https://s3.example.com?x=1': it has a path, query or fragment",
                      [] { parse_endpoint("https://s3.example.com?x=1"); });
  expect_config_error("invalid s3 endpoint 'https://': no host", [] { parse_endpoint("https://"); });
  expect_config_error("invalid s3 endpoint 'https://s3 example': 's3 example' is not a host",
                      [] { parse_endpoint("https://s3 example"); });
  expect_config_error("invalid s3 endpoint 'https://h:0': port '0' is not 1 to 65535", [] { parse_endpoint("https://h:0"); });
  expect_config_error("invalid s3 endpoint 'https://h:65536': port '65536' is not 1 to 65535",
                      [] { parse_endpoint("https://h:65536"); });
  expect_config_error("invalid s3 endpoint 'https://h:': port '' is not 1 to 65535", [] { parse_endpoint("https://h:"); });
  expect_config_error("invalid s3 endpoint 'http://[::1': unclosed '['", [] { parse_endpoint("http://[::1"); });
  // User information is refused without being echoed.
  expect_config_error("invalid s3 endpoint: user information in the url is not accepted",
                      [] { parse_endpoint("https://AKIA:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@s3.example.com"); });
  expect_config_error("invalid s3 endpoint: user information in the url is not accepted",
                      [] { parse_endpoint("AKIA:wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY@s3.example.com:9000"); });
}

TEST(S3Config, PathStyleTargets) {
  const S3Config c = local_path_style();
  const RequestTarget t = object_target(c, "wal/00000001/000000010000000000000001");
  EXPECT_EQ(t.host, "127.0.0.1:4568");
  EXPECT_EQ(t.path, "/pgdr-test/prod/db1/wal/00000001/000000010000000000000001");
  EXPECT_EQ(t.url, "http://127.0.0.1:4568/pgdr-test/prod/db1/wal/00000001/000000010000000000000001");

  const RequestTarget b = bucket_target(c);
  EXPECT_EQ(b.host, "127.0.0.1:4568");
  EXPECT_EQ(b.path, "/pgdr-test");
  EXPECT_EQ(b.url, "http://127.0.0.1:4568/pgdr-test");
}

TEST(S3Config, VirtualHostTargets) {
  const S3Config c = aws_virtual_host();
  const RequestTarget t = object_target(c, "snapshots/a b+c");
  EXPECT_EQ(t.host, "examplebucket.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(t.path, "/snapshots/a b+c");
  EXPECT_EQ(t.url, "https://examplebucket.s3.eu-west-1.amazonaws.com/snapshots/a%20b%2Bc");

  const RequestTarget b = bucket_target(c);
  EXPECT_EQ(b.host, "examplebucket.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(b.path, "/");
  EXPECT_EQ(b.url, "https://examplebucket.s3.eu-west-1.amazonaws.com/");

  S3Config with_port = config("https://minio.lan:9000", "bkp", "x", S3Addressing::virtual_host);
  EXPECT_EQ(object_target(with_port, "k").url, "https://bkp.minio.lan:9000/x/k");
}

TEST(S3Config, TargetIsWhatGetsSigned) {
  // The URL's path must be the canonical URI of the signed path, byte for byte.
  const S3Config c = local_path_style();
  const RequestTarget t = object_target(c, "snap/file $1");
  SigningRequest r;
  r.method = "GET";
  r.host = t.host;
  r.path = t.path;
  r.payload_sha256 = std::string(kEmptyPayloadSha256);
  const SignedRequest s = sign(r, c.credentials, c.region, "20240101T000000Z");
  const std::string url_path = t.url.substr(std::string("http://127.0.0.1:4568").size());
  EXPECT_EQ(url_path, "/pgdr-test/prod/db1/snap/file%20%241");
  EXPECT_TRUE(s.canonical_request.starts_with("GET\n" + url_path + "\n\nhost:127.0.0.1:4568\n")) << s.canonical_request;
}

TEST(S3Config, KeysUnderThePrefix) {
  const S3Config c = local_path_style();
  EXPECT_EQ(normalized_prefix(c), "prod/db1");
  EXPECT_EQ(object_key(c, "wal/x"), "prod/db1/wal/x");
  EXPECT_EQ(object_path_of_key(c, "prod/db1/wal/x"), "wal/x");
  EXPECT_EQ(object_path_of_key(c, "prod/db10/wal/x"), std::nullopt);
  EXPECT_EQ(object_path_of_key(c, "prod/db1/"), std::nullopt);
  EXPECT_EQ(object_path_of_key(c, "prod/db1"), std::nullopt);
  EXPECT_EQ(object_path_of_key(c, "other"), std::nullopt);

  const S3Config root = aws_virtual_host();
  EXPECT_EQ(object_key(root, "wal/x"), "wal/x");
  EXPECT_EQ(object_path_of_key(root, "wal/x"), "wal/x");
  EXPECT_EQ(object_path_of_key(root, ""), std::nullopt);
}

TEST(S3Config, DescribeNamesBucketAndPrefixOnly) {
  EXPECT_EQ(describe(local_path_style()), "s3://pgdr-test/prod/db1");
  EXPECT_EQ(describe(aws_virtual_host()), "s3://examplebucket");
}

TEST(S3Config, AcceptsGoodConfigurations) {
  EXPECT_NO_THROW(check_config(local_path_style()));
  EXPECT_NO_THROW(check_config(aws_virtual_host()));
  S3Config legacy = config("https://s3.amazonaws.com", "Legacy_Bucket", "", S3Addressing::path);
  EXPECT_NO_THROW(check_config(legacy));
}

TEST(S3Config, RefusesBadConfigurations) {
  auto expect_refused = [](const std::string& message, S3Config c) {
    expect_config_error(message, [&] { check_config(c); });
  };
  S3Config c = local_path_style();
  c.bucket.clear();
  expect_refused("s3 bucket is empty", std::move(c));

  c = aws_virtual_host();
  c.bucket = "Legacy_Bucket";
  expect_refused("s3 bucket 'Legacy_Bucket' is not a host name label, which virtual-host addressing needs", std::move(c));
  c = aws_virtual_host();
  c.bucket = "a..b";
  expect_refused("s3 bucket 'a..b' is not a host name label, which virtual-host addressing needs", std::move(c));

  c = config("http://127.0.0.1:4568", "pgdr-test", "", S3Addressing::virtual_host);
  expect_refused("s3 endpoint 127.0.0.1 is an address, and virtual-host addressing needs a host name", std::move(c));

  c = local_path_style();
  c.bucket = "a/b";
  expect_refused("s3 bucket 'a/b' holds '/' or a control character", std::move(c));

  c = local_path_style();
  c.region.clear();
  expect_refused("s3 region is empty", std::move(c));
  c = local_path_style();
  c.region = "eu west";
  expect_refused("s3 region 'eu west' is not a region name", std::move(c));

  c = local_path_style();
  c.prefix = "prod//db1";
  expect_refused("s3 prefix 'prod//db1' has an empty, '.' or '..' segment", std::move(c));
  c = local_path_style();
  c.prefix = "/prod/../db1/";
  expect_refused("s3 prefix 'prod/../db1' has an empty, '.' or '..' segment", std::move(c));

  c = local_path_style();
  c.credentials.secret_access_key = SecretBytes();
  expect_refused("no s3 credentials for bucket 'pgdr-test'", std::move(c));
  c = local_path_style();
  c.credentials.access_key_id.clear();
  expect_refused("no s3 credentials for bucket 'pgdr-test'", std::move(c));

  c = local_path_style();
  c.connect_timeout_ms = 0;
  expect_refused("s3 connect timeout must be above zero", std::move(c));
  c = local_path_style();
  c.stall_timeout_ms = 0;
  expect_refused("s3 stall timeout must be above zero", std::move(c));
}

}  // namespace
}  // namespace pgdr::storage::s3
