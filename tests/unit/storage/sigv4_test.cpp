#include "storage/s3/sigv4.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>

#include "core/error.h"
#include "io/sha256.h"

// Known answers from the Amazon S3 API reference, "Authenticating Requests: Using the Authorization
// Header (AWS Signature Version 4)", section "Examples: Signature Calculations": GET Object, PUT
// Object, GET Bucket Lifecycle and GET Bucket (List Objects), all for bucket examplebucket in
// us-east-1 at 20130524T000000Z with the documentation's example key pair. The signing-key vector is
// from the AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".

namespace pgdr::storage::s3 {
namespace {

using namespace std::chrono;

constexpr std::string_view kDate = "20130524T000000Z";
constexpr std::string_view kHost = "examplebucket.s3.amazonaws.com";
constexpr std::string_view kRegion = "us-east-1";

Credentials example_credentials() {
  Credentials c;
  c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  c.secret_access_key = SecretBytes(as_bytes("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
  return c;
}

SigningRequest example_request(std::string method, std::string path) {
  SigningRequest r;
  r.method = std::move(method);
  r.host = std::string(kHost);
  r.path = std::move(path);
  r.payload_sha256 = std::string(kEmptyPayloadSha256);
  return r;
}

std::string hash_line(const std::string& string_to_sign) { return string_to_sign.substr(string_to_sign.rfind('\n') + 1); }

TEST(SigV4, GetObjectExample) {
  SigningRequest r = example_request("GET", "/test.txt");
  r.headers = {{"Range", "bytes=0-9"}};
  const SignedRequest s = sign(r, example_credentials(), kRegion, kDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n"
            "/test.txt\n"
            "\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "range:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n"
            "\n"
            "host;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n"
            "20130524T000000Z\n"
            "20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  ASSERT_EQ(s.headers_to_add.size(), 3u);
  EXPECT_EQ(s.headers_to_add[0].name, "x-amz-date");
  EXPECT_EQ(s.headers_to_add[0].value, kDate);
  EXPECT_EQ(s.headers_to_add[1].name, "x-amz-content-sha256");
  EXPECT_EQ(s.headers_to_add[1].value, kEmptyPayloadSha256);
  EXPECT_EQ(s.headers_to_add[2].name, "Authorization");
  EXPECT_EQ(s.headers_to_add[2].value, s.authorization);
}

TEST(SigV4, PutObjectExample) {
  // The key holds '$', which the canonical URI encodes; Date is signed like any caller header.
  SigningRequest r = example_request("PUT", "/test$file.text");
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  r.payload_sha256 = to_hex(io::Sha256::of(as_bytes("Welcome to Amazon S3.")));
  ASSERT_EQ(r.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const SignedRequest s = sign(r, example_credentials(), kRegion, kDate);
  EXPECT_EQ(s.canonical_request,
            "PUT\n"
            "/test%24file.text\n"
            "\n"
            "date:Fri, 24 May 2013 00:00:00 GMT\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
            "x-amz-date:20130524T000000Z\n"
            "x-amz-storage-class:REDUCED_REDUNDANCY\n"
            "\n"
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(hash_line(s.string_to_sign), "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, GetBucketLifecycleExample) {
  // A bare sub-resource ("?lifecycle") signs as "lifecycle=".
  SigningRequest r = example_request("GET", "/");
  r.query = {{"lifecycle", ""}};
  const SignedRequest s = sign(r, example_credentials(), kRegion, kDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n"
            "/\n"
            "lifecycle=\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n"
            "\n"
            "host;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_line(s.string_to_sign), "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ListObjectsExampleSortsTheQuery) {
  SigningRequest r = example_request("GET", "/");
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // the reverse of the canonical order
  const SignedRequest s = sign(r, example_credentials(), kRegion, kDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n"
            "/\n"
            "max-keys=2&prefix=J\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n"
            "\n"
            "host;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_line(s.string_to_sign), "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, SigningKeyExample) {
  // Note the '+' in this secret: it is the General Reference's example, not the S3 one.
  const SecretBytes key = signing_key(as_bytes("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "20120215", "us-east-1", "iam");
  EXPECT_EQ(to_hex(key.view()), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, UriEncodeKeepsOnlyUnreservedBytes) {
  EXPECT_EQ(uri_encode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(uri_encode("a b/c*d+e=f$%", false), "a%20b%2Fc%2Ad%2Be%3Df%24%25");
  EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(uri_encode("\xc3\xa9", false), "%C3%A9");  // UTF-8 bytes, upper-case hex
  EXPECT_EQ(uri_encode("", false), "");
}

TEST(SigV4, CanonicalUriEncodesSegmentsOnceWithoutNormalising) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/"), "/");
  EXPECT_EQ(canonical_uri("/bucket/wal/0000 1+x"), "/bucket/wal/0000%201%2Bx");
  // An already-encoded name is encoded again: the path is taken as raw bytes.
  EXPECT_EQ(canonical_uri("/a%20b"), "/a%2520b");
  // S3 signs the path as sent: no "//" collapsing, no dot-segment removal.
  EXPECT_EQ(canonical_uri("/a//b/../c/"), "/a//b/../c/");
}

TEST(SigV4, CanonicalQuerySortsEncodedNamesThenValues) {
  EXPECT_EQ(canonical_query({}), "");
  EXPECT_EQ(canonical_query({{"b", "2"}, {"a", "x y"}, {"a", "1"}, {"uploads", ""}}), "a=1&a=x%20y&b=2&uploads=");
  EXPECT_EQ(canonical_query({{"list-type", "2"}, {"prefix", "prod/db1/"}, {"continuation-token", "1/+=="}}),
            "continuation-token=1%2F%2B%3D%3D&list-type=2&prefix=prod%2Fdb1%2F");
}

TEST(SigV4, FormatsAmzDateInUtc) {
  EXPECT_EQ(format_amz_date(sys_days{2013y / May / 24}), "20130524T000000Z");
  EXPECT_EQ(format_amz_date(sys_days{1999y / December / 31} + 23h + 59min + 59s + 999ms), "19991231T235959Z");
  EXPECT_EQ(format_amz_date(sys_days{2024y / February / 29} + 1h + 2min + 3s), "20240229T010203Z");
}

TEST(SigV4, SessionTokenIsSignedAndSent) {
  Credentials c = example_credentials();
  c.session_token = SecretBytes(as_bytes("FwoGZXIvYXdzEXAMPLETOKEN=="));
  SigningRequest r = example_request("GET", "/test.txt");
  const SignedRequest with = sign(r, c, kRegion, kDate);
  EXPECT_EQ(with.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  EXPECT_NE(with.canonical_request.find("\nx-amz-date:20130524T000000Z\nx-amz-security-token:FwoGZXIvYXdzEXAMPLETOKEN==\n\n"),
            std::string::npos);
  ASSERT_EQ(with.headers_to_add.size(), 4u);
  EXPECT_EQ(with.headers_to_add[2].name, "x-amz-security-token");
  EXPECT_EQ(with.headers_to_add[2].value, "FwoGZXIvYXdzEXAMPLETOKEN==");
  EXPECT_NE(with.signature, sign(r, example_credentials(), kRegion, kDate).signature);
}

TEST(SigV4, HeadersAreLowerCasedTrimmedSortedAndCombined) {
  SigningRequest r = example_request("PUT", "/k");
  r.headers = {{"X-Amz-Meta-B", "  two   words\there "}, {"Content-Type", "application/octet-stream"},
               {"x-amz-meta-a", "1"}, {"X-AMZ-META-A", "2"}};
  const SignedRequest s = sign(r, example_credentials(), kRegion, kDate);
  EXPECT_EQ(s.signed_headers, "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-b");
  EXPECT_NE(s.canonical_request.find("\nx-amz-date:20130524T000000Z\nx-amz-meta-a:1,2\nx-amz-meta-b:two words here\n\n"),
            std::string::npos)
      << s.canonical_request;

  // The order of distinct headers does not matter; the order of one header's values does.
  SigningRequest reordered = r;
  reordered.headers = {{"x-amz-meta-a", "1"}, {"Content-Type", "application/octet-stream"}, {"X-AMZ-META-A", "2"},
                       {"X-Amz-Meta-B", "two words here"}};
  EXPECT_EQ(sign(reordered, example_credentials(), kRegion, kDate).signature, s.signature);
  SigningRequest swapped = reordered;
  std::swap(swapped.headers[0].value, swapped.headers[2].value);
  EXPECT_NE(sign(swapped, example_credentials(), kRegion, kDate).signature, s.signature);
}

TEST(SigV4, UnsignedPayloadIsAccepted) {
  SigningRequest r = example_request("PUT", "/k");
  r.payload_sha256 = std::string(kUnsignedPayload);
  const SignedRequest s = sign(r, example_credentials(), kRegion, kDate);
  EXPECT_TRUE(s.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  EXPECT_NE(s.canonical_request.find("\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"), std::string::npos);
}

void expect_error(ErrorKind kind, const std::string& message, const SigningRequest& r, const Credentials& c,
                  std::string_view date = kDate) {
  try {
    sign(r, c, kRegion, date);
    ADD_FAILURE() << "no error for: " << message;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind);
    EXPECT_EQ(std::string(e.what()), message);
    EXPECT_EQ(std::string(e.what()).find("EXAMPLEKEY"), std::string::npos);
  }
}

TEST(SigV4, RefusesMalformedRequests) {
  const Credentials c = example_credentials();
  SigningRequest r = example_request("GET", "/k");
  expect_error(ErrorKind::internal, "unable to sign s3 request: date '2013-05-24T00:00:00Z' is not YYYYMMDDTHHMMSSZ",
               r, c, "2013-05-24T00:00:00Z");

  SigningRequest bad = r;
  bad.headers = {{"Host", "evil.example.com"}};
  expect_error(ErrorKind::internal, "unable to sign s3 request: header 'host' is set by the signer", bad, c);
  bad.headers = {{"X-Amz-Date", "20130524T000000Z"}};
  expect_error(ErrorKind::internal, "unable to sign s3 request: header 'x-amz-date' is set by the signer", bad, c);
  bad.headers = {{"range", "bytes=0-9\r\nx-injected: 1"}};
  expect_error(ErrorKind::internal, "unable to sign s3 request: value of header 'range' holds a line break", bad, c);
  bad.headers = {{"bad name", "1"}};
  expect_error(ErrorKind::internal, "unable to sign s3 request: header name 'bad name' is not a token", bad, c);

  bad = r;
  bad.path = "k";
  expect_error(ErrorKind::internal, "unable to sign s3 request: path 'k' does not start with '/'", bad, c);
  bad = r;
  bad.method = "get";
  expect_error(ErrorKind::internal, "unable to sign s3 request: method 'get' is not an upper-case word", bad, c);
  bad = r;
  bad.payload_sha256 = "E3B0";
  expect_error(ErrorKind::internal,
               "unable to sign s3 request: payload hash 'E3B0' is neither lower-case hex sha-256 nor UNSIGNED-PAYLOAD",
               bad, c);
}

TEST(SigV4, RefusesMissingOrMalformedCredentials) {
  const SigningRequest r = example_request("GET", "/k");
  Credentials none;
  expect_error(ErrorKind::config, "unable to sign s3 request: no access key id or secret access key", r, none);
  Credentials no_secret;
  no_secret.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  expect_error(ErrorKind::config, "unable to sign s3 request: no access key id or secret access key", r, no_secret);
  Credentials slash = example_credentials();
  slash.access_key_id = "AKIA/EXAMPLE";
  expect_error(ErrorKind::config, "unable to sign s3 request: the access key id holds a blank, '/' or ','", r, slash);
}

TEST(SigV4, ContentMd5IsBase64OfTheMd5) {
  // RFC 1321 test vector and the MD5 of a well-known sentence, in base64 (RFC 1864).
  EXPECT_EQ(content_md5({}), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(content_md5(as_bytes("The quick brown fox jumps over the lazy dog")), "nhB9nTcrtoJr2B01QqQZ1g==");
}

}  // namespace
}  // namespace pgdr::storage::s3
