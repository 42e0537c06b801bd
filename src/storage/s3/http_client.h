// HttpClient: HTTP/1.1 requests over libcurl for the S3 driver, one request at a time per calling
// thread, any number of threads at once. Easy handles are kept in a pool and reused, so requests to
// the same endpoint ride on kept-alive connections (and TLS sessions) instead of a new handshake each.
//
// The client knows nothing of S3: it sends what it is given and returns the status, headers and body.
// A failure of the transport itself (connection refused or reset, timeout, stall) throws
// TransportError, which says whether a repeat may cure it; an HTTP error status is a response.
//
// Owns its pooled handles (freed by the destructor, which must run after every request returned).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "storage/s3/sigv4.h"

namespace pgdr::storage::s3 {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // complete, query included, already encoded
  std::vector<HttpHeader> headers;
  ByteView body;  // sent for PUT and POST; must outlive perform()
};

struct HttpResponse {
  long status = 0;
  std::vector<HttpHeader> headers;  // names lower-cased, values trimmed
  Bytes body;

  // The value of the first header of that (lower-case) name.
  std::optional<std::string> header(std::string_view lower_name) const;
};

struct TransportOptions {
  std::uint32_t connect_timeout_ms = 10'000;
  // No byte moved either way for this long abandons a request (checked about once a second).
  std::uint32_t stall_timeout_ms = 60'000;
  std::string ca_file;  // PEM bundle; empty: the system's trust store
  bool verify_tls = true;
};

// A request that did not get a complete HTTP response. what() is one line naming curl's reason.
class TransportError : public std::runtime_error {
 public:
  TransportError(std::string message, bool retryable) : std::runtime_error(std::move(message)), retryable_(retryable) {}
  bool retryable() const noexcept { return retryable_; }

 private:
  bool retryable_;
};

class HttpClient {
 public:
  explicit HttpClient(TransportOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and reads the whole response. Throws TransportError.
  HttpResponse perform(const HttpRequest& request) const;

  const TransportOptions& options() const { return options_; }

 private:
  struct Pool;
  TransportOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace pgdr::storage::s3
