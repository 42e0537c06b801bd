// S3Config: where one S3-compatible repository lives and how to reach it (endpoint, bucket, region,
// key prefix, addressing style, TLS trust, credentials, timeouts), and the functions that turn an
// object path of the Storage interface into the host, path and URL of a request.
//
// Path-style addressing puts the bucket in the path (https://endpoint/bucket/prefix/key): it is what
// local servers (s3rver, MinIO) and IP endpoints need. Virtual-host addressing puts it in the host
// name (https://bucket.endpoint/prefix/key): what AWS prefers.
//
// The configuration owns its credentials (move-only); describe() and every error message here name
// the bucket, prefix and endpoint, never a credential. The functions are pure and may run on any
// thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/s3/credentials.h"
#include "storage/s3/retry.h"

namespace pgdr::storage::s3 {

enum class S3Addressing { virtual_host, path };

struct S3Config {
  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:4568", or a bare host name (https).
  // No path, query or user information.
  std::string endpoint;
  std::string bucket;
  std::string region;  // signs every request: "us-east-1", "eu-west-3"
  // Objects live under "<prefix>/"; empty for the bucket's root. Slashes at either end are ignored.
  std::string prefix;
  S3Addressing addressing = S3Addressing::virtual_host;
  std::string ca_file;  // PEM bundle that verifies the endpoint's certificate; empty: the system's
  // Off only for a test endpoint with a self-signed certificate: without it anyone on the path can
  // read and replace what is stored (encrypted, but an attacker could still delete or withhold it).
  bool verify_tls = true;
  Credentials credentials;
  std::uint32_t connect_timeout_ms = 10'000;
  // A request that moves no byte for this long is abandoned. Transfers are not bounded as a whole:
  // a pack upload over a slow link may rightly take minutes.
  std::uint32_t stall_timeout_ms = 60'000;
  RetryPolicy retry;
};

// The endpoint URL, parsed.
struct S3Endpoint {
  bool tls = true;
  std::string host;  // lower-case name or IPv4 address, or an IPv6 address in brackets
  // Absent for the scheme's default port, which the Host header leaves out (as curl does, and the
  // signed Host must equal the one sent).
  std::optional<std::uint16_t> port;

  // "host" or "host:port": the Host header of path-style requests.
  std::string authority() const;
  // "https://host[:port]"
  std::string origin() const;
};

// Throws Error(config) naming what is wrong (never echoing user information from the URL).
S3Endpoint parse_endpoint(std::string_view endpoint);

// Throws Error(config) on the first problem: endpoint, bucket (a DNS label sequence for
// virtual-host addressing), region, prefix segments, missing credentials, zero timeouts.
void check_config(const S3Config& config);

// What one request addresses.
struct RequestTarget {
  std::string host;  // the Host header, and SigningRequest::host
  std::string path;  // not percent-encoded, starting '/': SigningRequest::path
  std::string url;   // origin + canonical_uri(path); the transport appends "?" and the query
};

// The prefix without slashes at its ends: "" or "a/b".
std::string normalized_prefix(const S3Config& config);
// The S3 key of an object path: "<prefix>/<path>", or path itself for an empty prefix.
std::string object_key(const S3Config& config, std::string_view object_path);
// The object path of a key returned by a listing: nullopt for a key outside "<prefix>/".
std::optional<std::string> object_path_of_key(const S3Config& config, std::string_view key);

// The request target of an object (GET, PUT, HEAD, DELETE, multipart parts). object_path has been
// checked by check_object_path(); the endpoint by check_config().
RequestTarget object_target(const S3Config& config, std::string_view object_path);
// The request target of the bucket itself (listing, multi-object delete): "/bucket" path-style,
// "/" virtual-host.
RequestTarget bucket_target(const S3Config& config);

// "s3://bucket" or "s3://bucket/prefix", the aws-cli form: Storage::describe() for this repository,
// to which messages append "/<path>".
std::string describe(const S3Config& config);

}  // namespace pgdr::storage::s3
