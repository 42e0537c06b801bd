// AWS Signature Version 4 for S3 requests, in the header form (an Authorization header), computed
// from the parts of one request. Pure functions: no clock, no network, no state; the caller passes
// the request time. Any thread may call them at once.
//
// The transport builds a SigningRequest from what it is about to send, calls sign(), and sends
// exactly the signed parts: the URL path canonical_uri(request.path) (S3 compares the path it
// receives, so the URL must carry that very encoding), the query in any order, request.headers,
// Host, and SignedRequest::headers_to_add.
//
// SignedRequest holds the session token (in headers_to_add) and the Authorization value: neither
// may be logged. canonical_request and string_to_sign hold no secret and are what an S3
// SignatureDoesNotMatch error returns for comparison.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "storage/s3/credentials.h"

namespace pgdr::storage::s3 {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct QueryParameter {
  std::string name;
  std::string value;  // empty for a bare parameter such as "?uploads"
};

// x-amz-content-sha256 for an empty body (SHA-256 of no bytes), and the value S3 accepts for a body
// whose hash is not part of the signature.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct SigningRequest {
  std::string method;  // "GET", "PUT", "HEAD", "POST", "DELETE"
  // The Host header as sent: "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:4568".
  std::string host;
  // The path, not yet percent-encoded, starting with '/': "/bucket/wal/a b". sign() encodes it.
  std::string path;
  // Not yet encoded, in any order.
  std::vector<QueryParameter> query;
  // Further headers to sign and send, names in any case: range, content-type, content-md5, x-amz-*.
  // host, authorization and the x-amz-* headers sign() adds are refused here (Error internal).
  std::vector<HttpHeader> headers;
  // Lower-case hex SHA-256 of the body (kEmptyPayloadSha256 for none), or kUnsignedPayload.
  std::string payload_sha256;
};

struct SignedRequest {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;range;x-amz-content-sha256;x-amz-date"
  std::string signature;       // 64 lower-case hex digits
  std::string authorization;   // the value of the Authorization header
  // To send besides request.headers and Host: x-amz-date, x-amz-content-sha256,
  // x-amz-security-token (only with a session token) and Authorization.
  std::vector<HttpHeader> headers_to_add;
};

// Signs request for service "s3" in region at amz_date ("YYYYMMDDTHHMMSSZ", UTC; see
// format_amz_date). Throws Error(internal) on a malformed request or date: they come from code.
SignedRequest sign(const SigningRequest& request, const Credentials& credentials, std::string_view region,
                   std::string_view amz_date);

// The Content-MD5 header of a body: base64 of its MD5. DeleteObjects refuses a request without it
// (S3 API reference, DeleteObjects), although the signed SHA-256 of the payload protects it as well.
std::string content_md5(ByteView body);

// "YYYYMMDDTHHMMSSZ" in UTC, the form of x-amz-date.
std::string format_amz_date(std::chrono::system_clock::time_point time);

// The steps of sign(), public for the transport and for tests.

// Percent-encodes every byte but the RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~), with upper-case
// hex digits; '/' is kept when keep_slash.
std::string uri_encode(std::string_view text, bool keep_slash);
// The canonical URI of an S3 path: each segment encoded once, '/' kept, no normalisation (S3 does not
// collapse "//" or resolve ".."); "/" for an empty path.
std::string canonical_uri(std::string_view path);
// Names and values encoded ('/' too), sorted by name then value, joined as "a=1&b=&c=3".
std::string canonical_query(const std::vector<QueryParameter>& query);
// HMAC chain "AWS4"+secret -> date ("YYYYMMDD") -> region -> service -> "aws4_request".
SecretBytes signing_key(ByteView secret_access_key, std::string_view date, std::string_view region,
                        std::string_view service);

}  // namespace pgdr::storage::s3
